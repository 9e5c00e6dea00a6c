#include "fusefs/audit/log_limit.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "fusefs/audit/audit_log.h"
#include "fusefs/audit/rate_limit.h"

namespace confinefs::audit {
namespace {

// The audit sink's burst (audit_log.h) for what a real session does, then fewer lines a second
// than it keeps: stderr goes to the journal, which the whole host shares.
constexpr double kLogBurstLines = kBurstLines;
constexpr double kLogLinesPerSecond = 20;

}  // namespace

bool admit_log_line() noexcept {
  static std::mutex mutex;
  static TokenBucket bucket(kLogBurstLines, kLogLinesPerSecond);
  TokenBucket::Admission a;
  {
    std::lock_guard lock(mutex);
    a = bucket.admit(TokenBucket::Clock::now());
  }
  if (a.emit && a.suppressed > 0) {
    spdlog::warn("{} similar denial or refusal lines suppressed", a.suppressed);
  }
  return a.emit;
}

}  // namespace confinefs::audit
