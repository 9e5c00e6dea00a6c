// ProvenInodes: the inodes whose name was once proven to be their only link (threat 42), by
// their file handle (name_to_handle_at: inode number and generation, so a reused number is
// another inode), beyond the life of the node that proved it.
//
// Why it may outlive the node: once an inode had no name but one inside BACKING, its content is
// BACKING's for good (a name it gets later is made from inside: a move out). A node the kernel
// forgot and looks up again is the same inode; without this its first open would prove it again,
// and under an outside process renaming or exchanging its names in a loop (each sets the
// inode's ctime) the proof may not find a quiet moment. Bounded: the oldest half is dropped when
// full (a dropped inode is proven again at its next first open).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

#include "fusefs/lock_order.h"

namespace confinefs {
inline namespace nodes {

class ProvenInodes {
 public:
  explicit ProvenInodes(size_t capacity = 1u << 16) : capacity_(capacity) {}
  bool contains(const std::string& handle) const {
    std::lock_guard lock(mutex_);
    return set_.count(handle) != 0;
  }
  void insert(const std::string& handle) {
    std::lock_guard lock(mutex_);
    if (!set_.insert(handle).second) return;
    order_.push_back(handle);
    if (order_.size() <= capacity_) return;
    for (size_t drop = capacity_ / 2; drop > 0; --drop) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  mutable OrderedMutex<LockLevel::kProvenInodes> mutex_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
  const size_t capacity_;
};

}  // namespace nodes
}  // namespace confinefs
