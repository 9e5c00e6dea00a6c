#include "fusefs/audit/log_limit.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "fusefs/audit/rate_limit.h"

namespace confinefs::audit {
namespace {

// The same budget as the audit sink: a burst for what a real session does, then a trickle.
constexpr double kBurstLines = 200;
constexpr double kLinesPerSecond = 20;

}  // namespace

bool admit_log_line() noexcept {
  static std::mutex mutex;
  static TokenBucket bucket(kBurstLines, kLinesPerSecond);
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
