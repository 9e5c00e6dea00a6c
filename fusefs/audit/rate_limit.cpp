#include "fusefs/audit/rate_limit.h"

#include <algorithm>

namespace confinefs::audit {

TokenBucket::Admission TokenBucket::admit(Clock::time_point now) noexcept {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    last_ = now;
  }
  if (tokens_ < 1.0) {
    ++suppressed_;
    return {};
  }
  tokens_ -= 1.0;
  Admission a{true, suppressed_};
  suppressed_ = 0;
  return a;
}

}  // namespace confinefs::audit
