#include "fusefs/nodes/node_table.h"

#include <algorithm>
#include <deque>
#include <unordered_set>
#include <vector>

namespace confinefs {
inline namespace nodes {
namespace {

constexpr NodeType kNodeTypes[] = {NodeType::kDirectory, NodeType::kRegular, NodeType::kSymlink,
                                   NodeType::kFifo, NodeType::kSocket};

std::string location_key(uint64_t parent, std::string_view name) {
  std::string key(reinterpret_cast<const char*>(&parent), sizeof parent);
  key.append(name);
  return key;
}

}  // namespace

NodeTable::NodeTable(InodeKey root_key, Fd root_handle, size_t max_nodes)
    : max_nodes_(max_nodes),
      root_(
          std::make_shared<Node>(kRootId, root_key, NodeType::kDirectory, std::move(root_handle))) {
  root_->lookups_ = 1;
  by_id_.emplace(kRootId, root_);
  by_key_.emplace(NodeKey{root_key, NodeType::kDirectory}, kRootId);
}

NodeRef NodeTable::get(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !it->second->served()) return nullptr;
  return it->second;
}

Result<NodeRef> NodeTable::remember(InodeKey key, NodeType type, Fd handle, uint64_t parent,
                                    std::string_view name, uid_t caller) {
  std::lock_guard lock(mutex_);
  if (auto known = by_key_.find(NodeKey{key, type}); known != by_key_.end()) {
    auto it = by_id_.find(known->second);
    // A recorded node of this very inode and type: the kernel knows it by that id.
    std::shared_ptr<Node>& node =
        it->second->served() ? it->second : serve_locked(it, std::move(handle));
    if (node->id_ != kRootId) {
      // Found under another parent (moved outside, or a second name): the kernel will move
      // its dentry there, so links served beneath must still fit.
      if (node->place_.parent != parent && !add_parent_locked(*node, parent)) {
        return Error{ENOENT, Refusal::kLinkEscape};
      }
      ++node->lookups_;
      set_location_locked(*node, parent, name);
    }
    NodeRef found = node;
    return found;  // a duplicate handle (a parameter) closes after the lock is released
  }
  if (!room_locked(caller) || (observer_ && !observer_->has_room())) return Error{ENFILE};
  auto fresh = std::make_shared<Node>(next_id_++, key, type, std::move(handle));
  if (observer_) observer_->ids_below(next_id_);
  fresh->caller_ = caller;
  ++per_caller_[caller];
  fresh->lookups_ = 1;
  fresh->place_.parents.push_back(parent);
  by_id_.emplace(fresh->id_, fresh);
  by_key_.emplace(NodeKey{key, type}, fresh->id_);
  set_location_locked(*fresh, parent, name);
  if (by_id_.size() - recorded_ >= pressure_mark_) on_pressure_();  // served nodes: what it sweeps
  NodeRef result = std::move(fresh);
  return result;
}

std::shared_ptr<Node>& NodeTable::serve_locked(Entry it, Fd handle) {
  const Node& recorded = *it->second;
  auto node =
      std::make_shared<Node>(recorded.id_, recorded.key_, recorded.type_, std::move(handle));
  node->place_ = recorded.place_;
  node->caller_ = recorded.caller_;
  node->resumed_ = true;
  by_location_[location_key(node->place_.parent, node->place_.name)] = node->id_;
  it->second = std::move(node);
  --recorded_;
  return it->second;
}

void NodeTable::observe(std::unique_ptr<NodeObserver> observer, Predecessor predecessor) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
  uint64_t next = std::max(next_id_, predecessor.next_id);
  for (std::shared_ptr<Node>& node : predecessor.nodes) {
    next = std::max(next, node->id_ + 1);
    NodeKey key{node->key_, node->type_};
    if (node->id_ == kRootId || by_id_.contains(node->id_) || by_key_.contains(key)) {
      observer_->released(*node);  // a record no kernel id can be served from
      continue;
    }
    by_key_.emplace(key, node->id_);
    by_id_.emplace(node->id_, std::move(node));
    ++recorded_;
  }
  next_id_ = next;
  observer_->ids_below(next_id_);
  for (const auto& [id, node] : by_id_) {
    if (node->served()) changed_locked(*node);
  }
}

std::optional<std::pair<uint64_t, std::string>> NodeTable::recorded_at(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end() || it->second->served()) return std::nullopt;
  return std::make_pair(it->second->place_.parent, it->second->place_.name);
}

void NodeTable::drop_recorded(uint64_t id) {
  std::shared_ptr<Node> released;
  std::lock_guard lock(mutex_);
  if (auto it = by_id_.find(id); it != by_id_.end() && !it->second->served()) {
    release_locked(it, released);
  }
}

size_t NodeTable::recorded_count() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

void NodeTable::forget(uint64_t id, uint64_t n) {
  std::shared_ptr<Node> released;  // destroyed, and its fd closed, after the lock is dropped
  std::lock_guard lock(mutex_);
  if (id == kRootId) return;
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Node& node = *it->second;
  if (node.served()) {
    node.lookups_ = n >= node.lookups_ || node.resumed_ ? 0 : node.lookups_ - n;
    if (node.lookups_ > 0) return;
  }
  release_locked(it, released);
}

void NodeTable::release_locked(Entry it, std::shared_ptr<Node>& released) {
  Node& node = *it->second;
  by_key_.erase(NodeKey{node.key_, node.type_});
  if (node.served()) {
    if (auto at = by_location_.find(location_key(node.place_.parent, node.place_.name));
        at != by_location_.end() && at->second == node.id_) {
      by_location_.erase(at);
    }
    ++released_;
  } else {
    --recorded_;
  }
  if (observer_) observer_->released(node);
  if (auto c = per_caller_.find(node.caller_); c != per_caller_.end() && --c->second == 0) {
    per_caller_.erase(c);
  }
  released = std::move(it->second);
  by_id_.erase(it);
}

bool NodeTable::room_locked(uid_t caller) const {
  size_t total = by_id_.size();
  if (total < max_nodes_) return true;
  // Full: the reserve is for callers that do not hold half the table themselves (threat 44).
  auto mine = per_caller_.find(caller);
  size_t held = mine == per_caller_.end() ? 0 : mine->second;
  return caller != kNoCaller && held < max_nodes_ / 2 && total < reserve_limit(max_nodes_);
}

void NodeTable::moved(InodeKey key, uint64_t new_parent, std::string_view new_name) {
  std::lock_guard lock(mutex_);
  for (NodeType type : kNodeTypes) {
    // A recorded node follows the rename too.
    auto it = by_key_.find(NodeKey{key, type});
    if (it == by_key_.end() || it->second == kRootId) continue;
    Node& node = *by_id_.at(it->second);
    (void)add_parent_locked(node, new_parent);  // admit_move() already placed it when it could
    set_location_locked(node, new_parent, new_name);
  }
}

NodeRef NodeTable::at(uint64_t parent, std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = by_location_.find(location_key(parent, name));
  if (it == by_location_.end()) return nullptr;
  return by_id_.at(it->second);
}

void NodeTable::set_location_locked(Node& node, uint64_t parent, std::string_view name) {
  if (node.place_.parent == parent && node.place_.name == name) return;
  if (node.served()) {
    if (auto at = by_location_.find(location_key(node.place_.parent, node.place_.name));
        at != by_location_.end() && at->second == node.id_) {
      by_location_.erase(at);
    }
    by_location_[location_key(parent, name)] = node.id_;
  }
  node.place_.parent = parent;
  node.place_.name.assign(name);
  changed_locked(node);
}

unsigned NodeTable::depth_locked(uint64_t id) const {
  // Breadth-first over every recorded parent: the shortest way up is the shallowest place the
  // kernel may hold the node. Parents that left the table hold no dentry any more; a node with
  // no way up (or too many parents to reason about) counts as depth 0.
  std::deque<std::pair<uint64_t, unsigned>> queue{{id, 0}};
  std::unordered_set<uint64_t> seen{id};
  while (!queue.empty()) {
    auto [at, d] = queue.front();
    queue.pop_front();
    if (at == kRootId) return d;
    // A recorded node counts where the predecessor put it: the kernel may hold it there.
    auto it = by_id_.find(at);
    if (it == by_id_.end()) continue;  // forgotten: no dentry of ours can be beneath it
    const std::vector<uint64_t>& parents = it->second->place_.parents;
    if (parents.size() > kMaxParents) return 0;
    for (uint64_t p : parents) {
      if (seen.insert(p).second) queue.emplace_back(p, d + 1);
    }
  }
  return 0;
}

void NodeTable::raise_floor_locked(uint64_t id, unsigned floor) {
  std::vector<std::pair<uint64_t, unsigned>> work{{id, floor}};
  while (!work.empty()) {
    auto [at, f] = work.back();
    work.pop_back();
    if (f == 0) continue;
    auto it = by_id_.find(at);
    if (it == by_id_.end() || it->second->place_.depth_floor >= f) continue;
    Node& node = *it->second;
    node.place_.depth_floor = f;
    changed_locked(node);
    for (uint64_t p : node.place_.parents) work.emplace_back(p, f - 1);
  }
}

Result<void> NodeTable::add_parent_locked(Node& node, uint64_t parent) {
  std::vector<uint64_t>& parents = node.place_.parents;
  unsigned floor = node.place_.depth_floor;
  if (std::find(parents.begin(), parents.end(), parent) != parents.end()) return {};
  if (floor > 0) {
    unsigned parent_depth = depth_locked(parent);
    bool reachable = parent == kRootId || parent_depth > 0;
    if (!reachable || parents.size() >= kMaxParents || parent_depth + 1 < floor) {
      return Error{EXDEV, Refusal::kLinkEscape};
    }
  }
  // Past kMaxParents the node counts as depth 0 for good (depth_locked), so one more entry is
  // all that is kept: a node renamed between directories again and again costs bounded memory.
  if (parents.size() <= kMaxParents) {
    parents.push_back(parent);
    changed_locked(node);
  }
  if (floor > 1) raise_floor_locked(parent, floor - 1);
  return {};
}

Result<void> NodeTable::serve_link(uint64_t id, unsigned climb) {
  std::lock_guard lock(mutex_);
  if (depth_locked(id) < climb + 1) return Error{EACCES, Refusal::kLinkEscape};
  raise_floor_locked(id, climb + 1);
  return {};
}

Result<void> NodeTable::admit_move(uint64_t id, uint64_t new_parent) {
  std::lock_guard lock(mutex_);
  // A recorded node too: the kernel holds it with whatever links the predecessor served beneath,
  // so its floor holds as a served node's does.
  auto it = by_id_.find(id);
  if (it == by_id_.end() || id == kRootId) return {};
  return add_parent_locked(*it->second, new_parent);
}

unsigned NodeTable::depth(uint64_t id) const {
  std::lock_guard lock(mutex_);
  return depth_locked(id);
}

NodeRef NodeTable::find(InodeKey key, NodeType type) const {
  std::lock_guard lock(mutex_);
  auto it = by_key_.find(NodeKey{key, type});
  if (it == by_key_.end()) return nullptr;
  const auto& node = by_id_.at(it->second);
  return node->served() ? node : nullptr;
}

std::vector<NodeRef> NodeTable::find_all(InodeKey key) const {
  std::vector<NodeRef> found;
  std::lock_guard lock(mutex_);
  for (NodeType type : kNodeTypes) {
    if (auto it = by_key_.find(NodeKey{key, type}); it != by_key_.end()) {
      if (const auto& node = by_id_.at(it->second); node->served()) found.push_back(node);
    }
  }
  return found;
}

std::string NodeTable::virtual_path(uint64_t id) const {
  std::vector<std::string_view> parts;
  std::lock_guard lock(mutex_);
  // Bounded walk: a parent chain longer than the table would be a cycle from a stale parent link.
  for (size_t steps = 0; id != kRootId && steps <= by_id_.size(); ++steps) {
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second->served()) break;
    parts.push_back(it->second->place_.name);
    id = it->second->place_.parent;
  }
  if (parts.empty()) return "/";
  std::string path;
  for (auto p = parts.rbegin(); p != parts.rend(); ++p) {
    path += '/';
    path += *p;
  }
  return path;
}

std::pair<uint64_t, std::string> NodeTable::location(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end() || !it->second->served()) return {0, {}};
  return {it->second->place_.parent, it->second->place_.name};
}

Result<std::vector<NodeTable::Link>> NodeTable::chain(uint64_t id, size_t max) const {
  std::vector<Link> links;
  std::lock_guard lock(mutex_);
  while (id != kRootId) {
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second->served()) return Error{ENOENT};
    const NodePlace& place = it->second->place_;
    auto parent = by_id_.find(place.parent);
    if (parent == by_id_.end() || !parent->second->served()) return Error{ENOENT};
    if (links.size() >= max) return Error{ENAMETOOLONG};
    links.push_back({it->second, parent->second, place.name});
    id = place.parent;
  }
  return links;
}

size_t NodeTable::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size() - recorded_;
}

uint64_t NodeTable::released() const {
  std::lock_guard lock(mutex_);
  return released_;
}

void NodeTable::on_pressure(size_t high, std::function<void()> on_pressure) {
  std::lock_guard lock(mutex_);
  pressure_mark_ = high;
  on_pressure_ = std::move(on_pressure);
}

std::vector<std::pair<uint64_t, std::string>> NodeTable::sweep(size_t count) {
  std::vector<uint64_t> ids;
  uint64_t after = 0;
  {
    std::lock_guard lock(mutex_);
    ids.reserve(by_id_.size());
    for (const auto& [id, node] : by_id_) {
      if (id != kRootId && node->served()) ids.push_back(id);
    }
    after = sweep_after_;
  }
  // Sorted outside the lock: ids after the previous sweep first, then from the oldest again.
  std::sort(ids.begin(), ids.end(), [after](uint64_t a, uint64_t b) {
    return (a > after) != (b > after) ? a > after : a < b;
  });
  std::vector<std::pair<uint64_t, std::string>> found;
  std::lock_guard lock(mutex_);
  for (uint64_t id : ids) {
    if (found.size() == count) break;
    auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second->served()) continue;  // forgotten meanwhile
    found.emplace_back(it->second->place_.parent, it->second->place_.name);
    sweep_after_ = id;
  }
  return found;
}

}  // namespace nodes
}  // namespace confinefs
