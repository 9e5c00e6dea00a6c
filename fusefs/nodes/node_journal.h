// NodeJournal: the node table kept outside the daemon, in a memfd its supervisor holds, so that
// the next daemon can take over the kernel connection after a crash (docs/design.md, "Surviving
// the daemon").
//
// Threat (threat 41, a resumed daemon trusts stale state): a record is a claim, never a grant.
// It only says which (dev, ino, type) a node id the kernel still holds stood for and where it was
// last seen; the successor resolves that place again through the resolver, with every check of a
// fresh lookup, and keeps the node only if the very same inode and type are there
// (ops/resume.cpp). Nothing in the journal is a handle or a path string.
// Crash consistency: one fixed-size slot per node, written in place under the table's lock with
// the slot's id cleared first and stored last (release order), so a daemon killed in the middle
// of a write leaves a free slot, never a record mixing two nodes. Stores to a shared mapping
// reach the memfd's pages when they are made: SIGKILL loses nothing written before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/nodes/node.h"
#include "fusefs/result.h"

namespace confinefs {
inline namespace nodes {

// What a slot holds for one node.
struct NodeRecord {
  uint64_t id = 0;
  uint64_t parent = 0;  // the directory it was last resolved in
  InodeKey key{};
  NodeType type = NodeType::kRegular;
  std::string_view name;              // the name it was last resolved as
  std::span<const uint64_t> parents;  // every directory the kernel may hold it under
  unsigned depth_floor = 0;
  KernelOpens opens;
};

// A record read back, owning its strings.
struct RecordedNode {
  uint32_t slot = 0;
  uint64_t id = 0;
  uint64_t parent = 0;
  InodeKey key{};
  NodeType type = NodeType::kRegular;
  std::string name;
  std::vector<uint64_t> parents;
  unsigned depth_floor = 0;
  KernelOpens opens;
};

class NodeJournal {
 public:
  static constexpr size_t kMaxParents = 9;

  // A new, empty journal of capacity slots for the mount whose root is root.
  static Result<NodeJournal> create(size_t capacity, InodeKey root);
  // A predecessor's journal, checked: EINVAL when it is not one (magic, version, sizes), ESTALE
  // when it was kept for another root.
  static Result<NodeJournal> adopt(Fd memfd, InodeKey root);

  NodeJournal(NodeJournal&& other) noexcept;
  NodeJournal& operator=(NodeJournal&&) = delete;
  NodeJournal(const NodeJournal&) = delete;
  NodeJournal& operator=(const NodeJournal&) = delete;
  ~NodeJournal();

  FdRef fd() const noexcept { return memfd_.ref(); }
  size_t capacity() const noexcept { return capacity_; }

  // The predecessor's nodes (every slot in use at adopt()); empty for a new journal.
  std::vector<RecordedNode> recorded() const;
  // Node ids the predecessor may have handed out are below this.
  uint64_t next_id() const noexcept;
  void set_next_id(uint64_t id) noexcept;

  // A free slot (1-based), or nullopt when all are taken.
  std::optional<uint32_t> claim();
  void write(uint32_t slot, const NodeRecord& record) noexcept;
  // Frees the slot; its record is gone at once.
  void release(uint32_t slot) noexcept;

  // The memfd's layout (node_journal.cpp).
  struct Header;
  struct Slot;

 private:
  NodeJournal(Fd memfd, void* base, size_t capacity);
  Header& header() const noexcept;
  Slot& slot(uint32_t index) const noexcept;

  Fd memfd_;
  void* base_ = nullptr;
  size_t capacity_ = 0;
  std::vector<uint32_t> free_;  // freed slots, reused first (the pages in use stay few)
  uint32_t next_unused_ = 1;    // slots at and above this were never used
};

}  // namespace nodes
}  // namespace confinefs
