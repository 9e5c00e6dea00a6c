// NodeJournal: the node table kept outside the daemon, in a memfd its supervisor holds, so that
// the next daemon can take over the kernel connection after a crash (docs/design.md, "Surviving
// the daemon"). It observes the table (node_observer.h): one slot per node, written after each
// change, under the table's lock.
//
// Threat (threat 41, a resumed daemon trusts stale state): a record is a claim, never a grant.
// It only says which (dev, ino, type) a node id the kernel still holds stood for and where it was
// last seen; the successor resolves that place again through the resolver, with every check of a
// fresh lookup, and keeps the node only if the very same inode and type are there
// (ops/resume.cpp). Nothing in the journal is a handle or a path string.
//
// Format (a sys::SlotFile, magic "cfsnodes"; crash consistency as that file says):
//   own words: root dev, root ino (the BACKING root it was kept for), the first id never handed
//   out. A slot: the node's id (its key), last parent, dev, ino, up to 9 parents, the link floor,
//   type, name.
//   Version 2 (written now): the three words after the link floor are zero.
//   Version 1 (read): they held the kernel's passthrough opens of the node, which the
//   passthrough record (fuse/passthrough_record.h) keeps since; format1_opens() reads them for
//   the successor of a version-1 daemon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/nodes/node_observer.h"
#include "fusefs/result.h"
#include "fusefs/sys/slot_file.h"

namespace confinefs {
inline namespace nodes {

class NodeJournal final : public NodeObserver {
 public:
  static constexpr size_t kMaxParents = 9;

  // A new, empty journal of capacity slots for the mount whose root is root.
  static Result<std::unique_ptr<NodeJournal>> create(size_t capacity, InodeKey root);
  // A predecessor's journal, checked: EINVAL when it is not one (magic, version, sizes), ESTALE
  // when it was kept for another root.
  static Result<std::unique_ptr<NodeJournal>> adopt(Fd memfd, InodeKey root);

  FdRef fd() const noexcept { return file_.fd(); }
  size_t capacity() const noexcept { return file_.capacity(); }
  // The format of the daemon that made the journal.
  uint32_t format() const noexcept { return file_.version(); }

  // The predecessor's nodes, recorded (every slot in use at adopt()); none for a new journal.
  Predecessor predecessor() const;
  // A format-1 journal's passthrough opens, by node id (empty for any other).
  struct Format1Opens {
    uint64_t node;
    int32_t backing_id;
    uint32_t passed_through, cached;
  };
  std::vector<Format1Opens> format1_opens() const;

  bool has_room() const noexcept override;
  void changed(const Node& node) noexcept override;
  void released(const Node& node) noexcept override;
  void ids_below(uint64_t next_id) noexcept override;

  struct Slot;  // the layout (node_journal.cpp)

 private:
  explicit NodeJournal(sys::SlotFile file);

  sys::SlotFile file_;
  std::unordered_map<uint64_t, uint32_t> slots_;  // node id -> its slot
};

}  // namespace nodes
}  // namespace confinefs
