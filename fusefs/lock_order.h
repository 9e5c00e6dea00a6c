// The daemon's lock order, written once. A thread that holds a lock takes only locks of a higher
// level, so no two request threads can wait for each other. Debug builds (the sanitizer stage of
// the test suite runs every test in one) check it on every lock and abort naming both levels;
// release builds compile to a plain std::mutex.
//
// None of these locks is held across a round trip to another process or a host call that an
// outside process can make block (a FIFO, a lock, a FUSE mount): fuse/passthrough.cpp registers
// backing files with no lock held, and the backing tree is touched under a lock only through the
// fds of a single inode (a usage stripe, held across that inode's own write).
#pragma once

#include <mutex>

namespace confinefs {

enum class LockLevel : unsigned char {
  kPassthrough = 1,  // fuse/passthrough.h: per-inode open counts and their record
  kUsageFile,        // mount/usage.h: one inode's size accounting, across its write
  kNodeTable,        // nodes/node_table.h: ids, places, and its observer (the node journal)
  kReclaimer,        // fuse/node_reclaimer.h: woken from the table's pressure callback
  kMadeHere,         // objects/made_here.h
  kProvenInodes,     // nodes/proven_inodes.h
  kMountWatch,       // resolve/mount_watch.h
  kAttemptLog,       // mount/attempt_log.h: slots of requests being changed, by unique id
  kAudit,            // audit/audit_log.h: held across one line's write to the operator's sink
};

const char* lock_level_name(LockLevel level) noexcept;

// Debug builds: records that this thread takes (or took, or released) a lock of level; aborts,
// naming both levels, when it already holds one of the same or a higher level.
void check_lock_order(LockLevel level);
void note_locked(LockLevel level);
void note_unlocked(LockLevel level);

// A mutex of one level of the order above; what the daemon's shared locks are declared as.
template <LockLevel kLevel>
class OrderedMutex {
 public:
  OrderedMutex() = default;
  OrderedMutex(const OrderedMutex&) = delete;
  OrderedMutex& operator=(const OrderedMutex&) = delete;

  void lock() {
    check_lock_order(kLevel);
    mutex_.lock();
    note_locked(kLevel);
  }
  bool try_lock() {
    check_lock_order(kLevel);
    if (!mutex_.try_lock()) return false;
    note_locked(kLevel);
    return true;
  }
  void unlock() {
    note_unlocked(kLevel);
    mutex_.unlock();
  }

 private:
  std::mutex mutex_;
};

}  // namespace confinefs
