#include "fusefs/objects/made_here.h"

namespace confinefs::objects {

Result<void> MadeHere::add(InodeKey object, NodeType type, InodeKey parent, std::string_view name,
                           bool sticky) {
  std::lock_guard lock(mutex_);
  if (places_.size() >= max_entries_ && !places_.count(object)) return Error{ENOSPC};
  places_.insert_or_assign(object, Place{type, parent, std::string(name), sticky});
  return {};
}

bool MadeHere::sticky(InodeKey object) const {
  std::lock_guard lock(mutex_);
  auto it = places_.find(object);
  return it != places_.end() && it->second.sticky;
}

void MadeHere::set_sticky(InodeKey object, bool sticky) {
  std::lock_guard lock(mutex_);
  if (auto it = places_.find(object); it != places_.end()) it->second.sticky = sticky;
}

std::optional<NodeType> MadeHere::find(InodeKey object, InodeKey parent,
                                       std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = places_.find(object);
  if (it == places_.end() || !(it->second.parent == parent) || it->second.name != name) {
    return std::nullopt;
  }
  return it->second.type;
}

void MadeHere::moved(InodeKey object, InodeKey parent, std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = places_.find(object);
  if (it == places_.end()) return;
  it->second.parent = parent;
  it->second.name.assign(name);
}

void MadeHere::erase(InodeKey object) {
  std::lock_guard lock(mutex_);
  places_.erase(object);
}

}  // namespace confinefs::objects
