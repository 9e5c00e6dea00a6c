#include "fusefs/audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>

namespace confinefs::audit {
namespace {

// Journal priority: denials are warnings, allowed mutations notices.
void send_to_journal(const std::string& line) {
  std::string_view message(line);
  if (message.ends_with('\n')) message.remove_suffix(1);
  bool allowed = message.find("\"event\":\"allowed\"") != std::string_view::npos;
  sd_journal_send("MESSAGE=%.*s", static_cast<int>(message.size()), message.data(), "PRIORITY=%d",
                  allowed ? LOG_NOTICE : LOG_WARNING, "SYSLOG_IDENTIFIER=confinefs",
                  "CONFINEFS_AUDIT=1", nullptr);
}

void write_all(FdRef fd, const std::string& line) {
  // One write: O_APPEND makes it atomic with respect to other appenders for regular files.
  ssize_t n;
  do {
    n = ::write(fd.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
}

}  // namespace

Result<Fd> open_audit_file(const std::string& path) {
  // A path from the operator's policy file, never from a client; O_NOFOLLOW still refuses a
  // symlink planted at the log's name.
  int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return last_error();
  Fd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return Error{EINVAL};
  return owned;
}

AuditLog::AuditLog() : bucket_(kBurstLines, kLinesPerSecond) {}

Result<void> AuditLog::configure(const policy::AuditOptions& options) {
  Fd opened;
  bool same_file = false;
  {
    std::lock_guard lock(mutex_);
    same_file = options.sink == policy::AuditSink::kFile && sink_ == policy::AuditSink::kFile &&
                options.file == file_path_ && file_.valid();
  }
  if (options.sink == policy::AuditSink::kFile && !same_file) {
    auto fd = open_audit_file(options.file);
    if (!fd) return fd.error();
    opened = std::move(fd.value());
  }
  Fd old;  // closed after the lock is released
  std::lock_guard lock(mutex_);
  log_allowed_ = options.log_allowed_mutations;
  if (same_file) return {};
  sink_ = options.sink;
  file_path_ = options.sink == policy::AuditSink::kFile ? options.file : std::string();
  old = std::move(file_);
  file_ = std::move(opened);
  return {};
}

void AuditLog::record(const Event& e, std::string_view tenant) {
  auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  auto admission = bucket_.admit(TokenBucket::Clock::now());
  if (!admission.emit) return;
  if (admission.suppressed > 0) write_line(format_suppressed(admission.suppressed, tenant, now));
  write_line(format_event(e, tenant, now));
}

void AuditLog::write_line(const std::string& line) {
  switch (sink_) {
    case policy::AuditSink::kStderr: write_all(FdRef(STDERR_FILENO), line); break;
    case policy::AuditSink::kJournald: send_to_journal(line); break;
    case policy::AuditSink::kFile: write_all(file_.ref(), line); break;
  }
}

}  // namespace confinefs::audit
