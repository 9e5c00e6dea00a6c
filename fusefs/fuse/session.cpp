#include "fusefs/fuse/session.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <cstdarg>
#include <cstdio>

#include "fusefs/fuse/channel_io.h"
#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/lowlevel.h"

namespace confinefs::fuse {
namespace {

// libfuse's own messages go to the same log as ours.
void log_from_libfuse(enum fuse_log_level level, const char* fmt, va_list ap) {
  char line[1024];
  std::vsnprintf(line, sizeof line, fmt, ap);
  std::string_view text(line);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  switch (level) {
    case FUSE_LOG_EMERG:
    case FUSE_LOG_ALERT:
    case FUSE_LOG_CRIT:
    case FUSE_LOG_ERR: spdlog::error("libfuse: {}", text); break;
    case FUSE_LOG_WARNING: spdlog::warn("libfuse: {}", text); break;
    case FUSE_LOG_NOTICE:
    case FUSE_LOG_INFO: spdlog::info("libfuse: {}", text); break;
    case FUSE_LOG_DEBUG: spdlog::debug("libfuse: {}", text); break;
  }
}

}  // namespace

Result<std::unique_ptr<Session>> Session::create(MountState* state, const SessionOptions& options) {
  fuse_set_log_func(log_from_libfuse);
  // The kernel applies the caller's umask before CREATE and MKDIR reach us (FUSE_CAP_DONT_MASK
  // is not requested); the daemon's own umask must not be applied a second time.
  ::umask(0);
  std::vector<std::string> args = {"confinefs"};
  if (options.debug) args.emplace_back("-d");
  for (const auto& o : options.mount_options) {
    args.emplace_back("-o");
    args.push_back(o);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&fargs, &lowlevel_ops(), sizeof(fuse_lowlevel_ops), state);
  fuse_opt_free_args(&fargs);
  if (se == nullptr) return Error{EINVAL};
  return std::unique_ptr<Session>(new Session(se, options));
}

Session::~Session() {
  if (signals_) fuse_remove_signal_handlers(se_);
  if (mounted_) fuse_session_unmount(se_);
  fuse_session_destroy(se_);
}

Result<void> Session::mount() {
  if (fuse_session_mount(se_, options_.mountpoint.c_str()) != 0) return Error{EIO};
  mounted_ = true;
  return {};
}

Result<void> Session::adopt(Fd channel) {
  // Through the channel hook (fuse/channel_io.h), which can ask the kernel for passthrough.
  if (int rc = fuse_session_custom_io(se_, &channel_io(), channel.get()); rc != 0) {
    return Error{-rc};
  }
  (void)channel.release();  // libfuse's from here on
  return {};
}

Result<void> Session::install_exit_signals() {
  if (fuse_set_signal_handlers(se_) != 0) return Error{EIO};
  signals_ = true;
  return {};
}

Result<void> Session::serve() {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  if (cfg == nullptr) return Error{ENOMEM};
  fuse_loop_cfg_set_clone_fd(cfg, options_.clone_fd ? 1 : 0);
  fuse_loop_cfg_set_max_threads(cfg, options_.max_threads);
  int rc = fuse_session_loop_mt(se_, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (rc < 0) return Error{-rc};
  exit_signal_ = rc;  // libfuse's exit handler leaves the signal's number as the loop's result
  return {};
}

void Session::request_exit() { fuse_session_exit(se_); }

Result<void> Session::invalidate_entry(uint64_t parent, std::string_view name) {
  int rc = fuse_lowlevel_notify_inval_entry(se_, parent, name.data(), name.size());
  if (rc < 0) return Error{-rc};
  return {};
}

}  // namespace confinefs::fuse
