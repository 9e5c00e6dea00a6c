// Open files and directories the kernel holds, by the number the daemon gave it in fi->fh.
// A number coming back from the kernel is looked up, never cast to a pointer: a number the
// table does not hold (a directory's where a file's is expected, a daemon bug) finds nothing
// and the request gets EBADF, instead of memory read as the wrong type. Numbers come from one
// counter for files and directories and are never reused while the mount lives, nor across
// daemons on one connection (fuse/connection_record.h).
//
// A file handle's number also carries the flags it was opened with on the host (access mode,
// O_APPEND, O_DIRECT, O_SYNC/O_DSYNC: HandleNumber), so a successor daemon reopens a
// predecessor's handle exactly as it was opened. The requests that may be a handle's first after
// a restart do not all carry them: SETATTR, FALLOCATE and COPY_FILE_RANGE come with fi->flags 0
// (read-only), and a handle reopened from that could no longer write (ftruncate EINVAL,
// fallocate and copy_file_range EBADF, and every later write EBADF).
#pragma once

#include <fcntl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "fusefs/ops/ops.h"

namespace confinefs::fuse {

// Below a daemon's first number (its generation, fuse/connection_record.h): a marker bit, the
// open's index, and the open's flags in the low bits. Numbers without the marker were given by a
// daemon that did not put flags in them (an older version): their flags are the request's.
struct HandleNumber {
  static constexpr uint64_t kTagged = uint64_t{1} << 39;  // below ConnectionRecord::kHandleBits
  static constexpr unsigned kFlagBits = 6;
  static constexpr uint64_t kMaxIndex = (kTagged >> kFlagBits) - 1;  // 8.6 billion opens a daemon

  static constexpr uint64_t tag_of(int flags) {
    uint64_t tag = static_cast<uint64_t>(flags & O_ACCMODE);  // 2 bits
    if (flags & O_APPEND) tag |= 1u << 2;
    if (flags & O_DIRECT) tag |= 1u << 3;
    if ((flags & O_SYNC) == O_SYNC) {
      tag |= 2u << 4;
    } else if (flags & O_DSYNC) {
      tag |= 1u << 4;
    }
    return tag;
  }
  static constexpr int flags_of(uint64_t fh) {
    int flags = static_cast<int>(fh & O_ACCMODE);
    if (fh & (1u << 2)) flags |= O_APPEND;
    if (fh & (1u << 3)) flags |= O_DIRECT;
    uint64_t sync = (fh >> 4) & 3;
    if (sync == 2) flags |= O_SYNC;
    if (sync == 1) flags |= O_DSYNC;
    return flags;
  }
  static constexpr bool tagged(uint64_t fh) { return (fh & kTagged) != 0; }
};

template <typename T>
class HandleTable {
 public:
  HandleTable(std::atomic<uint64_t>& next, const uint64_t& first) : next_(next), first_(first) {}

  // Publishes handle before the reply that carries its number goes out: the kernel may send a
  // request on it (from another thread) as soon as it has the reply. The number carries flags
  // (HandleNumber::tag_of, 0 for directories). Takes handle; or returns 0 and leaves it to the
  // caller when this daemon has given out every number of its generation (ENFILE: a planned
  // restart renews them).
  uint64_t add(std::unique_ptr<T>& handle, int flags = 0) {
    uint64_t index = next_.fetch_add(1, std::memory_order_relaxed);
    if (index > HandleNumber::kMaxIndex) return 0;
    uint64_t fh = first_ | HandleNumber::kTagged | index << HandleNumber::kFlagBits |
                  HandleNumber::tag_of(flags);
    std::unique_lock lock(mutex_);
    handles_.emplace(fh, std::move(handle));
    return fh;
  }
  // The kernel sends RELEASE for a handle once, after every request on it has been answered, so
  // the object stays valid while a request on it is served.
  T* find(uint64_t fh) const {
    std::shared_lock lock(mutex_);
    auto it = handles_.find(fh);
    return it == handles_.end() ? nullptr : it->second.get();
  }
  // Publishes handle under a predecessor's number fh, unless another request did first; the
  // handle now under fh.
  T* adopt(uint64_t fh, std::unique_ptr<T> handle) {
    std::unique_lock lock(mutex_);
    auto [it, added] = handles_.try_emplace(fh, std::move(handle));
    return it->second.get();
  }
  std::unique_ptr<T> take(uint64_t fh) {
    std::unique_lock lock(mutex_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return nullptr;
    std::unique_ptr<T> handle = std::move(it->second);
    handles_.erase(it);
    return handle;
  }

 private:
  std::atomic<uint64_t>& next_;
  const uint64_t& first_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<uint64_t, std::unique_ptr<T>> handles_;
};

struct Handles {
  // Numbers from first on (fuse/connection_record.h: a multiple of 2^40); set before serving.
  void start_at(uint64_t number) noexcept { first = number; }
  // Whether fh is a number a predecessor daemon on this connection gave out.
  bool predecessors(uint64_t fh) const noexcept { return fh != 0 && fh < first; }

  uint64_t first = 0;
  std::atomic<uint64_t> next{0};  // the next open's index
  HandleTable<ops::OpenFile> files{next, first};
  HandleTable<ops::OpenDir> dirs{next, first};
};

}  // namespace confinefs::fuse
