// Rate limit for the daemon's own log lines about denials and refusals (stderr, hence the
// journal under systemd). Threat 23: a sandbox that provokes refusals in a loop (87,690 failing
// stats in 5 s) must not flood the host's journal or disk. Lines beyond the budget are counted,
// and the next line that passes is preceded by "N similar lines suppressed": during a flood that
// is once per refill, afterwards with the next line.
#pragma once

namespace confinefs::audit {

// True when the caller may log its denial or refusal line now (thread-safe). When lines were
// dropped since the last one admitted, it logs the "suppressed" line first.
bool admit_log_line() noexcept;

}  // namespace confinefs::audit
