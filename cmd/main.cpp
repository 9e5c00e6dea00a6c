// confinefs: start-up in a fixed order (threats.md #18-#20, ecosystem.md):
//   parse options -> raise RLIMIT_NOFILE -> open BACKING (no following) -> check MOUNTPOINT ->
//   load policy -> build the session (validates mount options) -> SIGHUP, then exit signals ->
//   mount -> daemonize unless -f -> serve -> unmount.
// Exit status: 0 after a clean unmount (signal or fusermount3 -u), 2 for usage and configuration
// errors (nothing is mounted then), 1 for failures at run time.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>

#include "cmd/logging.h"
#include "cmd/mountpoint.h"
#include "cmd/options.h"
#include "cmd/policy_source.h"
#include "cmd/reload.h"
#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/session.h"
#include "fusefs/ops/filesystem.h"

namespace {

using namespace confinefs;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "confinefs: %s\n", message.c_str());
  return kExitUsage;
}

void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

std::string backing_error(const std::string& path, int code) {
  struct stat st {};
  // O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR; say what it really is.
  if (code == ENOTDIR && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) code = ELOOP;
  switch (code) {
    case ELOOP: return "BACKING " + path + " is a symbolic link; give the real directory";
    case ENOTDIR: return "BACKING " + path + " is not a directory";
    default: return "BACKING " + path + ": " + std::strerror(code);
  }
}

fuse::CacheTimeouts timeouts_for(cli::CacheMode mode) {
  switch (mode) {
    case cli::CacheMode::kStrict: return {0.0, 0.0, 0.0, false};
    case cli::CacheMode::kAuto: return {1.0, 1.0, 1.0, false};
    case cli::CacheMode::kFull: return {3600.0, 3600.0, 3600.0, true};
  }
  return {};
}

std::vector<std::string> mount_options(const cli::Options& o) {
  // Ours come last, so nothing on the command line can take them away.
  std::vector<std::string> all = {"fsname=confinefs", "subtype=confinefs"};
  all.insert(all.end(), o.mount_options.begin(), o.mount_options.end());
  for (const char* forced : {"default_permissions", "nosuid", "nodev"}) all.emplace_back(forced);
  return all;
}

int run(const cli::Options& opts) {
  raise_fd_limit();
  auto resolver = Resolver::open_root(opts.backing.c_str());
  if (!resolver) return usage_error(backing_error(opts.backing, resolver.code()));
  if (auto why = cli::check_mountpoint(opts.mountpoint, resolver->root_attr()); !why.empty()) {
    return usage_error(why);
  }
  auto policy = cli::load_startup_policy(opts);
  if (!policy) return kExitUsage;

  FilesystemConfig config;
  config.max_nodes = opts.max_nodes;
  Filesystem fs(std::move(resolver.value()), config, policy);
  fuse::MountState state{&fs, timeouts_for(opts.cache), [&] {
                           spdlog::info("mounted {} at {} tenant={}", opts.backing,
                                        opts.mountpoint, fs.policy()->tenant());
                         }};
  fuse::SessionOptions so;
  so.mountpoint = opts.mountpoint;
  so.mount_options = mount_options(opts);
  so.debug = opts.debug;
  if (opts.single_thread) so.max_threads = 1;
  auto session = fuse::Session::create(&state, so);
  if (!session) return usage_error("invalid mount options (see above)");

  cli::ReloadOnHangup hangup([&] { cli::reload_policy(opts, fs); });
  if (!hangup.installed() || !session.value()->install_exit_signals()) {
    spdlog::error("cannot install signal handlers");
    return kExitRuntime;
  }
  if (!session.value()->mount()) return kExitRuntime;
  if (!opts.foreground) {
    if (fuse_daemonize(0) != 0) return kExitRuntime;
    if (auto ok = fs.resolver().rebind_proc(); !ok) {
      spdlog::error("cannot reopen /proc/self/fd after daemonizing: {}", std::strerror(ok.code()));
      return kExitRuntime;
    }
  }
  auto served = session.value()->serve();
  session.value().reset();  // unmounts
  spdlog::info("unmounted {}", opts.mountpoint);
  if (!served) {
    spdlog::error("session ended with error: {}", std::strerror(served.code()));
    return kExitRuntime;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  cli::Options opts = cli::parse(argc, argv, error);
  if (!error.empty()) return usage_error(error + " (see --help)");
  if (opts.show_help) {
    cli::print_usage(argv[0]);
    return 0;
  }
  if (opts.show_version) {
    std::printf("confinefs %s\nlibfuse %s\n", CONFINEFS_VERSION, fuse_pkgversion());
    return 0;
  }
  if (!cli::setup_logging(opts.log_level)) return usage_error("unknown log level " + opts.log_level);
  if (opts.check_policy_file) return cli::check_policy(*opts.check_policy_file);
  return run(opts);
}
