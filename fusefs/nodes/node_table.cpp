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
                                    std::string_view name, uid_t caller) {
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
    if (!room_locked(caller)) return Error{ENFILE};
    if ((fresh = take_resumed_locked(NodeKey{key, type}, handle))) {
      // The predecessor's node for this very inode and type: the kernel knows it by that id.
      by_id_.emplace(fresh->id_, fresh);
      by_key_.emplace(NodeKey{key, type}, fresh->id_);
      if (fresh->parent_ != parent && !add_parent_locked(*fresh, parent)) {
        return Error{ENOENT, Refusal::kLinkEscape};
      }
      set_location_locked(*fresh, parent, name);
      NodeRef result = std::move(fresh);
      return result;
    }
    uint32_t slot = 0;
    if (journal_) {
      auto claimed = journal_->claim();
      if (!claimed) return Error{ENFILE};
      slot = *claimed;
    }
    fresh = std::make_shared<Node>(next_id_++, key, type, std::move(handle));
    if (journal_) journal_->set_next_id(next_id_);
    fresh->slot_ = slot;
    fresh->caller_ = caller;
    ++per_caller_[caller];
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

std::shared_ptr<Node> NodeTable::take_resumed_locked(const NodeKey& key, Fd& handle) {
  auto by_key = resumed_by_key_.find(key);
  if (by_key == resumed_by_key_.end()) return nullptr;
  auto it = resumed_.find(by_key->second);
  resumed_by_key_.erase(by_key);
  if (it == resumed_.end()) return nullptr;
  RecordedNode& r = it->second;
  auto node = std::make_shared<Node>(r.id, r.key, r.type, std::move(handle));
  node->resumed_ = true;
  node->slot_ = r.slot;
  node->parent_ = r.parent;
  node->name_ = std::move(r.name);
  node->parents_ = std::move(r.parents);
  if (node->parents_.empty()) node->parents_.push_back(r.parent);
  node->depth_floor_ = r.depth_floor;
  node->opens_ = r.opens;
  by_location_[location_key(node->parent_, node->name_)] = node->id_;
  resumed_.erase(it);
  return node;
}

void NodeTable::keep_journal(NodeJournal journal) {
  static_assert(NodeJournal::kMaxParents == kMaxParents + 1);  // add_parent_locked keeps one more
  std::lock_guard lock(mutex_);
  journal_.emplace(std::move(journal));
  uint64_t next = std::max(next_id_, journal_->next_id());
  for (RecordedNode& r : journal_->recorded()) {
    next = std::max(next, r.id + 1);
    NodeKey key{r.key, r.type};
    if (r.id == kRootId || by_id_.contains(r.id) || resumed_.contains(r.id) ||
        resumed_by_key_.contains(key)) {
      journal_->release(r.slot);  // a record no kernel id can be served from
      continue;
    }
    resumed_by_key_.emplace(key, r.id);
    resumed_.emplace(r.id, std::move(r));
  }
  next_id_ = next;
  journal_->set_next_id(next_id_);
  for (auto& [id, node] : by_id_) {
    if (id == kRootId || node->slot_ != 0) continue;
    if (auto slot = journal_->claim()) {
      node->slot_ = *slot;
      journal_locked(*node);
    }
  }
}

std::optional<std::pair<uint64_t, std::string>> NodeTable::resumed_at(uint64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = resumed_.find(id);
  if (it == resumed_.end()) return std::nullopt;
  return std::make_pair(it->second.parent, it->second.name);
}

void NodeTable::drop_resumed(uint64_t id) {
  std::lock_guard lock(mutex_);
  if (auto it = resumed_.find(id); it != resumed_.end()) drop_resumed_locked(it);
}

void NodeTable::drop_resumed_locked(std::unordered_map<uint64_t, RecordedNode>::iterator record) {
  resumed_by_key_.erase(NodeKey{record->second.key, record->second.type});
  if (journal_) journal_->release(record->second.slot);
  resumed_.erase(record);
}

void NodeTable::record_opens(uint64_t id, const KernelOpens& opens) {
  std::lock_guard lock(mutex_);
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    it->second->opens_ = opens;
    journal_locked(*it->second);
  } else if (auto r = resumed_.find(id); r != resumed_.end()) {
    r->second.opens = opens;
    journal_locked(r->second);
  }
}

std::vector<std::pair<uint64_t, KernelOpens>> NodeTable::recorded_opens() const {
  std::vector<std::pair<uint64_t, KernelOpens>> found;
  std::lock_guard lock(mutex_);
  for (const auto& [id, rec] : resumed_) {
    if (rec.opens != KernelOpens{}) found.emplace_back(id, rec.opens);
  }
  return found;
}

size_t NodeTable::resumed_count() const {
  std::lock_guard lock(mutex_);
  return resumed_.size();
}

void NodeTable::forget(uint64_t id, uint64_t n) {
  std::shared_ptr<Node> released;  // destroyed, and its fd closed, after the lock is dropped
  std::lock_guard lock(mutex_);
  if (id == kRootId) return;
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    if (auto r = resumed_.find(id); r != resumed_.end()) drop_resumed_locked(r);
    return;
  }
  auto& node = it->second;
  node->lookups_ = n >= node->lookups_ || node->resumed_ ? 0 : node->lookups_ - n;
  if (node->lookups_ > 0) return;
  by_key_.erase(NodeKey{node->key_, node->type_});
  if (auto at = by_location_.find(location_key(node->parent_, node->name_));
      at != by_location_.end() && at->second == id) {
    by_location_.erase(at);
  }
  if (journal_ && node->slot_ != 0) journal_->release(node->slot_);
  if (auto c = per_caller_.find(node->caller_); c != per_caller_.end() && --c->second == 0) {
    per_caller_.erase(c);
  }
  released = std::move(node);
  by_id_.erase(it);
  ++released_;
}

bool NodeTable::room_locked(uid_t caller) const {
  size_t total = by_id_.size() + resumed_.size();
  if (total < max_nodes_) return true;
  // Full: the reserve is for callers that do not hold half the table themselves (threat 44).
  auto mine = per_caller_.find(caller);
  size_t held = mine == per_caller_.end() ? 0 : mine->second;
  return caller != kNoCaller && held < max_nodes_ / 2 && total < reserve_limit(max_nodes_);
}

void NodeTable::moved(InodeKey key, uint64_t new_parent, std::string_view new_name) {
  std::lock_guard lock(mutex_);
  for (NodeType type : kNodeTypes) {
    if (auto r = resumed_by_key_.find(NodeKey{key, type}); r != resumed_by_key_.end()) {
      RecordedNode& rec = resumed_.at(r->second);  // a record follows the rename too
      (void)add_parent_locked(rec, new_parent);    // admit_move() already placed it when it could
      rec.parent = new_parent;
      rec.name.assign(new_name);
      journal_locked(rec);
    }
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
  if (node.parent_ == parent && node.name_ == name) return;
  if (auto at = by_location_.find(location_key(node.parent_, node.name_));
      at != by_location_.end() && at->second == node.id_) {
    by_location_.erase(at);
  }
  node.parent_ = parent;
  node.name_.assign(name);
  by_location_[location_key(parent, name)] = node.id_;
  journal_locked(node);
}

void NodeTable::journal_locked(const RecordedNode& rec) {
  if (!journal_) return;
  journal_->write(rec.slot, NodeRecord{rec.id, rec.parent, rec.key, rec.type, rec.name, rec.parents,
                                       rec.depth_floor, rec.opens});
}

void NodeTable::journal_locked(const Node& node) {
  if (!journal_ || node.slot_ == 0) return;
  journal_->write(node.slot_, NodeRecord{node.id_, node.parent_, node.key_, node.type_, node.name_,
                                         node.parents_, node.depth_floor_, node.opens_});
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
    const std::vector<uint64_t>* parents = nullptr;
    if (auto it = by_id_.find(at); it != by_id_.end()) {
      parents = &it->second->parents_;
    } else if (auto r = resumed_.find(at); r != resumed_.end()) {
      parents = &r->second.parents;  // the kernel may hold it where the predecessor put it
    } else {
      continue;  // forgotten: no dentry of ours can be beneath it
    }
    if (parents->size() > kMaxParents) return 0;
    for (uint64_t p : *parents) {
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
    if (auto r = resumed_.find(at); r != resumed_.end()) {
      if (r->second.depth_floor >= f) continue;
      RecordedNode& rec = r->second;
      rec.depth_floor = f;
      journal_locked(rec);
      for (uint64_t p : rec.parents) work.emplace_back(p, f - 1);
      continue;
    }
    auto it = by_id_.find(at);
    if (it == by_id_.end() || it->second->depth_floor_ >= f) continue;
    it->second->depth_floor_ = f;
    journal_locked(*it->second);
    for (uint64_t p : it->second->parents_) work.emplace_back(p, f - 1);
  }
}

Result<bool> NodeTable::place_under_locked(std::vector<uint64_t>& parents, unsigned floor,
                                           uint64_t parent) {
  if (std::find(parents.begin(), parents.end(), parent) != parents.end()) return false;
  if (floor > 0) {
    unsigned parent_depth = depth_locked(parent);
    bool reachable = parent == kRootId || parent_depth > 0;
    if (!reachable || parents.size() >= kMaxParents || parent_depth + 1 < floor) {
      return Error{EXDEV, Refusal::kLinkEscape};
    }
  }
  // Past kMaxParents the node counts as depth 0 for good (depth_locked), so one more entry is
  // all that is kept: a node renamed between directories again and again costs bounded memory.
  bool changed = parents.size() <= kMaxParents;
  if (changed) parents.push_back(parent);
  if (floor > 1) raise_floor_locked(parent, floor - 1);
  return changed;
}

Result<void> NodeTable::add_parent_locked(Node& node, uint64_t parent) {
  auto placed = place_under_locked(node.parents_, node.depth_floor_, parent);
  if (!placed) return placed.error();
  if (placed.value()) journal_locked(node);
  return {};
}

Result<void> NodeTable::add_parent_locked(RecordedNode& record, uint64_t parent) {
  auto placed = place_under_locked(record.parents, record.depth_floor, parent);
  if (!placed) return placed.error();
  if (placed.value()) journal_locked(record);
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
  if (auto r = resumed_.find(id); r != resumed_.end()) {
    // Not resumed yet, but the kernel holds it with whatever links the predecessor served
    // beneath: its floor holds as a served node's does.
    return add_parent_locked(r->second, new_parent);
  }
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

Result<std::vector<NodeTable::Link>> NodeTable::chain(uint64_t id, size_t max) const {
  std::vector<Link> links;
  std::lock_guard lock(mutex_);
  while (id != kRootId) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return Error{ENOENT};
    auto parent = by_id_.find(it->second->parent_);
    if (parent == by_id_.end()) return Error{ENOENT};
    if (links.size() >= max) return Error{ENAMETOOLONG};
    links.push_back({it->second, parent->second, it->second->name_});
    id = it->second->parent_;
  }
  return links;
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
