// AuditLog: where denials go (policy `audit:` section): stderr, the systemd journal, or a file of
// JSON lines. Threat: a hostile client provoking denials in a loop; lines pass a
// token bucket, and a "N events suppressed" line says how many were dropped.
// Invariant: a file sink is opened when the policy is applied (at start, before the mount, and on
// reload), never per event, and every line goes out in a single write() on an O_APPEND fd, so
// lines from concurrent requests never interleave.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "fusefs/audit/event.h"
#include "fusefs/audit/rate_limit.h"
#include "fusefs/fd.h"
#include "fusefs/lock_order.h"
#include "fusefs/result.h"
#include "policy/policy.h"

namespace confinefs::audit {

// Burst and steady rate of the limiter (docs/policy.md, "Audit log").
inline constexpr double kBurstLines = 200;
inline constexpr double kLinesPerSecond = 50;

// Opens the file sink the way AuditLog does: O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0600.
Result<Fd> open_audit_file(const std::string& path);

class AuditLog {
 public:
  AuditLog();

  // Switches to the sink `options` names. On failure the previous sink stays (the error is
  // returned for the caller to log); a file sink already open for the same path is kept.
  Result<void> configure(const policy::AuditOptions& options);
  bool log_allowed_mutations() const noexcept { return log_allowed_; }

  void record(const Event& e, std::string_view tenant);

 private:
  void write_line(const std::string& line);

  OrderedMutex<LockLevel::kAudit>
      mutex_;  // guards everything below; held across the write so lines stay whole
  policy::AuditSink sink_ = policy::AuditSink::kStderr;
  std::string file_path_;
  Fd file_;
  bool log_allowed_ = false;
  TokenBucket bucket_;
};

}  // namespace confinefs::audit
