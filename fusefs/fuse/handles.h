// Open files and directories the kernel holds, by the number the daemon gave it in fi->fh.
// A number coming back from the kernel is looked up, never cast to a pointer: a number the
// table does not hold (a directory's where a file's is expected, a daemon bug) finds nothing
// and the request gets EBADF, instead of memory read as the wrong type. Numbers come from one
// counter for files and directories and are never reused while the mount lives, nor across
// daemons on one connection (fuse/connection_record.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "fusefs/ops/ops.h"

namespace confinefs::fuse {

template <typename T>
class HandleTable {
 public:
  explicit HandleTable(std::atomic<uint64_t>& next) : next_(next) {}

  // Publishes handle before the reply that carries its number goes out: the kernel may send a
  // request on it (from another thread) as soon as it has the reply.
  uint64_t add(std::unique_ptr<T> handle) {
    uint64_t fh = next_.fetch_add(1, std::memory_order_relaxed);
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
  mutable std::shared_mutex mutex_;
  std::unordered_map<uint64_t, std::unique_ptr<T>> handles_;
};

struct Handles {
  // Numbers from first on (fuse/connection_record.h); set before serving.
  void start_at(uint64_t number) noexcept {
    first = number;
    next.store(number, std::memory_order_relaxed);
  }
  // Whether fh is a number a predecessor daemon on this connection gave out.
  bool predecessors(uint64_t fh) const noexcept { return fh != 0 && fh < first; }

  uint64_t first = 1;
  std::atomic<uint64_t> next{1};
  HandleTable<ops::OpenFile> files{next};
  HandleTable<ops::OpenDir> dirs{next};
};

}  // namespace confinefs::fuse
