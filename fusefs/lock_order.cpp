#include "fusefs/lock_order.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace confinefs {

const char* lock_level_name(LockLevel level) noexcept {
  switch (level) {
    case LockLevel::kPassthrough: return "passthrough";
    case LockLevel::kUsageFile: return "usage file";
    case LockLevel::kNodeTable: return "node table";
    case LockLevel::kReclaimer: return "reclaimer";
    case LockLevel::kMadeHere: return "made here";
    case LockLevel::kProvenInodes: return "proven inodes";
    case LockLevel::kMountWatch: return "mount watch";
    case LockLevel::kAttemptLog: return "attempt log";
    case LockLevel::kAudit: return "audit";
  }
  return "?";
}

#ifndef NDEBUG
namespace {

// The levels this thread holds, in the order taken (nesting is shallow: a few levels at most;
// past the array's room they are counted, not checked).
struct Held {
  std::array<LockLevel, 16> levels{};
  size_t count = 0;
  size_t stored() const { return count < levels.size() ? count : levels.size(); }
};
thread_local Held held;

}  // namespace

void check_lock_order(LockLevel level) {
  for (size_t i = 0; i < held.stored(); ++i) {
    if (held.levels[i] >= level) {
      std::fprintf(stderr, "confinefs: lock order broken: %s taken while holding %s\n",
                   lock_level_name(level), lock_level_name(held.levels[i]));
      std::abort();
    }
  }
}

void note_locked(LockLevel level) {
  if (held.count < held.levels.size()) held.levels[held.count] = level;
  ++held.count;
}

void note_unlocked(LockLevel level) {
  size_t n = held.stored();
  for (size_t i = n; i-- > 0;) {
    if (held.levels[i] == level) {
      for (size_t j = i; j + 1 < n; ++j) held.levels[j] = held.levels[j + 1];
      break;
    }
  }
  if (held.count > 0) --held.count;
}
#else
void check_lock_order(LockLevel) {}
void note_locked(LockLevel) {}
void note_unlocked(LockLevel) {}
#endif

}  // namespace confinefs
