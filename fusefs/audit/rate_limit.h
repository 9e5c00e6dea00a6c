// Token bucket for audit lines: a hostile client that triggers denials in a loop
// must not fill the disk or the journal. Pure logic with the clock passed in, for unit tests.
#pragma once

#include <chrono>
#include <cstdint>

namespace confinefs::audit {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // burst: lines accepted at once; per_second: steady rate after the burst.
  TokenBucket(double burst, double per_second) noexcept
      : burst_(burst), per_second_(per_second), tokens_(burst) {}

  struct Admission {
    bool emit = false;        // write this event
    uint64_t suppressed = 0;  // events dropped since the last one written; report them first
  };
  // Not thread-safe: the caller serializes (AuditLog holds its mutex).
  Admission admit(Clock::time_point now) noexcept;

 private:
  double burst_, per_second_, tokens_;
  Clock::time_point last_{};
  bool started_ = false;
  uint64_t suppressed_ = 0;
};

}  // namespace confinefs::audit
