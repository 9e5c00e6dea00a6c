// NodeTable: node id -> Node, and (dev, ino, type shown) -> node id, with the kernel's lookup
// counts.
//
// Invariants: node ids come from a counter and are never reused; a node is in both maps exactly
// while the kernel may hold its id (the root is pinned); FORGET releases the node and with it its
// fd, so a long session does not leak descriptors (threat 18). Requests hold a shared_ptr<Node>,
// so a FORGET racing an operation never closes an fd that is in use.
// States (node.h): a served node is handed to requests; a recorded one (a predecessor's) never
// is, until a lookup of its very inode and type serves it. Both keep their place and count in
// the bound, under the same rules: one node type, one set of invariants.
// Observer (node_observer.h): told after each change of a node, under the lock, in order.
// Lock: mutex_ only guards the maps and the fields marked "guarded"; it is never held across a
// syscall (the fd in a new node is opened before insert() and closed after the lock is dropped).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fusefs/lock_order.h"
#include "fusefs/nodes/node.h"
#include "fusefs/nodes/node_observer.h"
#include "fusefs/result.h"

namespace confinefs {
inline namespace nodes {

using NodeRef = std::shared_ptr<const Node>;

// The most nodes a table of max_nodes ever holds: a quarter more, for callers that do not hold
// half of it themselves (NodeTable::remember). The node journal has a slot for each.
constexpr size_t reserve_limit(size_t max_nodes) { return max_nodes + max_nodes / 4; }

class NodeTable {
 public:
  static constexpr uint64_t kRootId = 1;

  NodeTable(InodeKey root_key, Fd root_handle, size_t max_nodes);

  // The served node id; nullptr for an id not served here (unknown, forgotten or recorded).
  NodeRef get(uint64_t id) const;
  NodeRef root() const { return root_; }

  // From now on every change of a node is told to observer (node_journal.h), for a successor.
  // The predecessor's nodes (none for a new journal) join the table recorded: ids the kernel
  // knows, served by nothing here until a lookup of the same inode and type (ops/resume.cpp)
  // serves them; new ids continue above the predecessor's. Call before serving.
  void observe(std::unique_ptr<NodeObserver> observer, Predecessor predecessor);
  // Where the recorded node id was last seen (parent id, name); nullopt for no such record.
  std::optional<std::pair<uint64_t, std::string>> recorded_at(uint64_t id) const;
  // The recorded node id did not verify: it is forgotten, and the kernel's requests on the id
  // find nothing (ESTALE) until it forgets it too.
  void drop_recorded(uint64_t id);
  size_t recorded_count() const;

  // Counts one kernel lookup of the inode behind handle as parent/name. Reuses the served node
  // for the key (handle is then dropped), serves a recorded node of the same inode and type (its
  // id, parents and floor), or inserts a new node. Fails with ENFILE past max_nodes.
  // A new node counts against caller's share (threat 44): once the table holds max_nodes, only
  // a caller holding less than half of them gets one more, from a reserve of a quarter more, so
  // one user of an allow_other mount pinning nodes (O_PATH fds, which the reclaimer cannot
  // evict) makes only its own lookups fail with ENFILE.
  Result<NodeRef> remember(InodeKey key, NodeType type, Fd handle, uint64_t parent,
                           std::string_view name, uid_t caller = kNoCaller);
  static constexpr uid_t kNoCaller = static_cast<uid_t>(-1);
  // Drops n kernel references; the node leaves the table when none remain.
  void forget(uint64_t id, uint64_t n);
  // Records a rename done through the mount, so virtual paths follow it (every node of key).
  void moved(InodeKey key, uint64_t new_parent, std::string_view new_name);
  // The node of key shown as type, if the kernel knows it.
  NodeRef find(InodeKey key, NodeType type) const;
  // Every node of key (one per type it is shown as).
  std::vector<NodeRef> find_all(InodeKey key) const;
  // The node the kernel last learnt at parent/name (what a rename of that name moves in the
  // kernel's cache, whatever the host holds there now).
  NodeRef at(uint64_t parent, std::string_view name) const;

  // Link containment. A node's depth is its shortest distance to the root over every parent
  // the kernel may hold it under, so the kernel's own view is never shallower. serve_link()
  // admits a link node whose target climbs `climb` levels above its directory only at depth
  // climb + 1 or more, and from then on every directory above it keeps a floor: admit_move()
  // refuses (EXDEV) to place a node where its floor would no longer hold, before the host
  // rename, and a lookup that finds a known node under a new parent is refused the same way
  // (ENOENT, Refusal::kLinkEscape). Floors only rise while a node lives; a forgotten node has no
  // dentry left in the kernel, nor has anything beneath it.
  Result<void> serve_link(uint64_t id, unsigned climb);
  Result<void> admit_move(uint64_t id, uint64_t new_parent);
  // Depth of node id as serve_link() counts it (0 when unknown: fail closed).
  unsigned depth(uint64_t id) const;

  // Virtual path from the mount root as this daemon resolved it ("/" for the root).
  std::string virtual_path(uint64_t id) const;
  // Parent node id and name the node was last resolved as.
  std::pair<uint64_t, std::string> location(uint64_t id) const;
  // The (parent, name) links from id up to the root as the table has them now, nearest first,
  // read under one lock: ENOENT when a node on the way was forgotten, ENAMETOOLONG past max links.
  struct Link {
    NodeRef node;
    NodeRef parent;
    std::string name;
  };
  Result<std::vector<Link>> chain(uint64_t id, size_t max) const;
  // Served nodes.
  size_t size() const;

  // Nodes that have left the table since it was made (a progress counter for reclaiming).
  uint64_t released() const;
  // Calls on_pressure (with the table's lock held: it must only wake someone) on every insertion
  // that leaves the table at high nodes or more.
  void on_pressure(size_t high, std::function<void()> on_pressure);
  // Up to count nodes as (parent id, name), oldest first, continuing after the newest node the
  // previous call returned (a sweep over node ids, so nodes the kernel cannot drop are not
  // picked again and again): the names to invalidate when the table must shrink. Never the root.
  std::vector<std::pair<uint64_t, std::string>> sweep(size_t count);

 private:
  static constexpr size_t kMaxParents = 8;  // beyond: depth 0, links beneath are refused
  using Entry = std::unordered_map<uint64_t, std::shared_ptr<Node>>::iterator;
  bool room_locked(uid_t caller) const;
  unsigned depth_locked(uint64_t id) const;
  void raise_floor_locked(uint64_t id, unsigned floor);
  // The node may also be held under parent: EXDEV when its link floor would not hold there;
  // otherwise parent joins its parents and gets the floor below.
  Result<void> add_parent_locked(Node& node, uint64_t parent);
  void set_location_locked(Node& node, uint64_t parent, std::string_view name);
  // The recorded node at it, served from now on with handle.
  std::shared_ptr<Node>& serve_locked(Entry it, Fd handle);
  void release_locked(Entry it, std::shared_ptr<Node>& released);
  void changed_locked(const Node& node) {
    if (observer_ && node.id_ != kRootId) observer_->changed(node);
  }

  mutable OrderedMutex<LockLevel::kNodeTable> mutex_;  // after Passthrough (fusefs/lock_order.h)
  std::unordered_map<uint64_t, std::shared_ptr<Node>> by_id_;  // served and recorded
  std::unordered_map<NodeKey, uint64_t, NodeKeyHash> by_key_;  // served and recorded
  std::unordered_map<std::string, uint64_t> by_location_;      // served: location_key(parent, name)
  uint64_t next_id_ = kRootId + 1;
  const size_t max_nodes_;
  std::shared_ptr<Node> root_;
  size_t pressure_mark_ = SIZE_MAX;
  std::function<void()> on_pressure_;
  uint64_t sweep_after_ = kRootId;  // guarded
  uint64_t released_ = 0;           // guarded
  std::unique_ptr<NodeObserver> observer_;
  size_t recorded_ = 0;                           // recorded nodes in by_id_
  std::unordered_map<uid_t, size_t> per_caller_;  // live nodes by the caller that made them
};

}  // namespace nodes
}  // namespace confinefs
