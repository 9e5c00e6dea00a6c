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
  if (it == by_id_.end()) return nullptr;
  return it->second;
}

Result<NodeRef> NodeTable::remember(InodeKey key, NodeType type, Fd handle, uint64_t parent,
                                    std::string_view name) {
  std::shared_ptr<Node> fresh;
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_key_.find(NodeKey{key, type}); it != by_key_.end()) {
      auto& node = by_id_.at(it->second);
      if (node->id_ != kRootId) {
        // Found under another parent (moved outside, or a second name): the kernel will move
        // its dentry there, so links served beneath must still fit.
        if (node->parent_ != parent) {
          if (!add_parent_locked(*node, parent)) return Error{ENOENT, Refusal::kLinkEscape};
        }
        ++node->lookups_;
        set_location_locked(*node, parent, name);
      }
      NodeRef found = node;
      return found;  // the duplicate handle (a parameter) closes after the lock is released
    }
    if (by_id_.size() >= max_nodes_) return Error{ENFILE};
    fresh = std::make_shared<Node>(next_id_++, key, type, std::move(handle));
    fresh->lookups_ = 1;
    fresh->parents_.push_back(parent);
    set_location_locked(*fresh, parent, name);
    by_id_.emplace(fresh->id_, fresh);
    by_key_.emplace(NodeKey{key, type}, fresh->id_);
    if (by_id_.size() >= pressure_mark_) on_pressure_();
  }
  NodeRef result = std::move(fresh);
  return result;
}

void NodeTable::forget(uint64_t id, uint64_t n) {
  std::shared_ptr<Node> released;  // destroyed, and its fd closed, after the lock is dropped
  std::lock_guard lock(mutex_);
  if (id == kRootId) return;
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto& node = it->second;
  node->lookups_ = n >= node->lookups_ ? 0 : node->lookups_ - n;
  if (node->lookups_ > 0) return;
  by_key_.erase(NodeKey{node->key_, node->type_});
  if (auto at = by_location_.find(location_key(node->parent_, node->name_));
      at != by_location_.end() && at->second == id) {
    by_location_.erase(at);
  }
  released = std::move(node);
  by_id_.erase(it);
  ++released_;
}

void NodeTable::moved(InodeKey key, uint64_t new_parent, std::string_view new_name) {
  std::lock_guard lock(mutex_);
  for (NodeType type : kNodeTypes) {
    auto it = by_key_.find(NodeKey{key, type});
    if (it == by_key_.end() || it->second == kRootId) continue;
    auto& node = by_id_.at(it->second);
    (void)add_parent_locked(*node, new_parent);  // admit_move() already placed it when it could
    set_location_locked(*node, new_parent, new_name);
  }
}

NodeRef NodeTable::at(uint64_t parent, std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = by_location_.find(location_key(parent, name));
  if (it == by_location_.end()) return nullptr;
  return by_id_.at(it->second);
}

void NodeTable::set_location_locked(Node& node, uint64_t parent, std::string_view name) {
  if (auto at = by_location_.find(location_key(node.parent_, node.name_));
      at != by_location_.end() && at->second == node.id_) {
    by_location_.erase(at);
  }
  node.parent_ = parent;
  node.name_.assign(name);
  by_location_[location_key(parent, name)] = node.id_;
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
    auto it = by_id_.find(at);
    if (it == by_id_.end()) continue;  // forgotten: no dentry of ours can be beneath it
    if (it->second->parents_.size() > kMaxParents) return 0;
    for (uint64_t p : it->second->parents_) {
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
    auto it = by_id_.find(at);
    if (f == 0 || it == by_id_.end() || it->second->depth_floor_ >= f) continue;
    it->second->depth_floor_ = f;
    for (uint64_t p : it->second->parents_) work.emplace_back(p, f - 1);
  }
}

Result<void> NodeTable::add_parent_locked(Node& node, uint64_t parent) {
  if (std::find(node.parents_.begin(), node.parents_.end(), parent) != node.parents_.end()) {
    return {};
  }
  if (node.depth_floor_ > 0) {
    unsigned parent_depth = depth_locked(parent);
    bool reachable = parent == kRootId || parent_depth > 0;
    if (!reachable || node.parents_.size() >= kMaxParents || parent_depth + 1 < node.depth_floor_) {
      return Error{EXDEV, Refusal::kLinkEscape};
    }
  }
  // Past kMaxParents the node counts as depth 0 for good (depth_locked), so one more entry is
  // all that is kept: a node renamed between directories again and again costs bounded memory.
  if (node.parents_.size() <= kMaxParents) node.parents_.push_back(parent);
  if (node.depth_floor_ > 1) raise_floor_locked(parent, node.depth_floor_ - 1);
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
  return by_id_.at(it->second);
}

std::vector<NodeRef> NodeTable::find_all(InodeKey key) const {
  std::vector<NodeRef> found;
  std::lock_guard lock(mutex_);
  for (NodeType type : kNodeTypes) {
    if (auto it = by_key_.find(NodeKey{key, type}); it != by_key_.end()) {
      found.push_back(by_id_.at(it->second));
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
    if (it == by_id_.end()) break;
    parts.push_back(it->second->name_);
    id = it->second->parent_;
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
  if (it == by_id_.end()) return {0, {}};
  return {it->second->parent_, it->second->name_};
}

size_t NodeTable::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
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
    for (const auto& entry : by_id_) {
      if (entry.first != kRootId) ids.push_back(entry.first);
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
    if (it == by_id_.end()) continue;  // forgotten meanwhile
    found.emplace_back(it->second->parent_, it->second->name_);
    sweep_after_ = id;
  }
  return found;
}

}  // namespace nodes
}  // namespace confinefs
