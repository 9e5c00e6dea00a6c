// PassthroughRecord: the kernel's opens of each inode as the passthrough rule counts them
// (fuse/passthrough.h), kept in a memfd the daemon's supervisor holds, for the next daemon on the
// connection (docs/design.md, "Surviving the daemon"). A successor must know which inodes the
// kernel still reads and writes through which backing file and which through its page cache:
// without it, its first open of such an inode would break the rule (the kernel fails that open
// with EIO) and the backing file would never be released.
//
// Format (a sys::SlotFile, magic "cfspass "; crash consistency as that file says): one slot per
// node with open files: the node id (its key), the backing id, the opens passed through, the
// opens through the page cache, the unique ids of the last 4 opens and releases counted.
// Version 1. A daemon of node journal format 1 kept these counts
// in the journal (nodes/node_journal.h): cmd/takeover.cpp moves them here.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/result.h"
#include "fusefs/sys/slot_file.h"

namespace confinefs::fuse {

// The kernel's opens of one node, and the requests last counted in them: a request the kernel
// resends after the daemon that counted it died (its reply never went out) is not counted twice.
// Unique ids never repeat on a connection, so an id found here was counted.
struct KernelOpens {
  static constexpr size_t kRecent = 4;
  int32_t backing_id = 0;
  uint32_t passed_through = 0;
  uint32_t cached = 0;
  std::array<uint64_t, kRecent> opened{};    // OPEN or CREATE requests counted last, newest first
  std::array<uint64_t, kRecent> released{};  // RELEASE requests counted last, newest first
  bool operator==(const KernelOpens&) const = default;

  // Counts request unique in recent (false: it was counted already).
  static bool count(std::array<uint64_t, kRecent>& recent, uint64_t unique) {
    if (unique == 0) return true;
    if (std::find(recent.begin(), recent.end(), unique) != recent.end()) return false;
    std::copy_backward(recent.begin(), recent.end() - 1, recent.end());
    recent[0] = unique;
    return true;
  }
};

class PassthroughRecord {
 public:
  // A new, empty record with room for capacity nodes.
  static Result<PassthroughRecord> create(size_t capacity);
  // A predecessor's record, checked: EINVAL when it is not one.
  static Result<PassthroughRecord> adopt(Fd memfd);

  FdRef fd() const noexcept { return file_.fd(); }

  // The counts the predecessor left, by node id.
  std::vector<std::pair<uint64_t, KernelOpens>> recorded() const;
  // Records node's opens now; opens of none free its slot. False when the record is full (it
  // has a slot for every node the table may hold, so never while the table keeps its bound).
  bool write(uint64_t node, const KernelOpens& opens) noexcept;

  struct Slot;  // the layout (passthrough_record.cpp)

 private:
  explicit PassthroughRecord(sys::SlotFile file);

  sys::SlotFile file_;
  std::unordered_map<uint64_t, uint32_t> slots_;  // node id -> its slot
};

}  // namespace confinefs::fuse
