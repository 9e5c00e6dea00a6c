#include "fusefs/objects/made_here.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "fusefs/sys/syscalls.h"

namespace confinefs::objects {
namespace {

// One change in the log: the object's place after it, or its removal.
struct LogEntry {
  uint32_t magic;
  uint8_t op;  // kPut or kDrop
  uint8_t type;
  uint8_t sticky;
  uint8_t name_length;
  uint64_t dev, ino, parent_dev, parent_ino;
};
constexpr uint32_t kMagic = 0x4f534643;  // "CFSO"
constexpr uint8_t kPut = 1, kDrop = 2;
constexpr off_t kMaxLog = 16 << 20;  // beyond, changes are not kept (a restart forgets them)

}  // namespace

Result<void> MadeHere::reserve(uid_t caller) {
  std::lock_guard lock(mutex_);
  size_t& mine = per_caller_count_[caller];
  if (mine >= per_caller_ || places_.size() + reserved_ >= max_entries_) return Error{ENOSPC};
  ++mine;
  ++reserved_;
  return {};
}

void MadeHere::cancel(uid_t caller) {
  std::lock_guard lock(mutex_);
  if (reserved_ > 0) --reserved_;
  if (auto it = per_caller_count_.find(caller); it != per_caller_count_.end() && it->second > 0) {
    if (--it->second == 0) per_caller_count_.erase(it);
  }
}

void MadeHere::add(InodeKey object, NodeType type, InodeKey parent, std::string_view name,
                   bool sticky, uid_t caller) {
  std::lock_guard lock(mutex_);
  if (reserved_ > 0) --reserved_;
  // A record of the same inode (a number the filesystem reused) is replaced, with its count.
  if (auto it = places_.find(object); it != places_.end()) erase_locked(it);
  places_.emplace(object, Place{type, parent, std::string(name), sticky, caller});
  record_locked(object);
}

void MadeHere::erase_locked(std::unordered_map<InodeKey, Place, InodeKeyHash>::iterator it) {
  if (auto c = per_caller_count_.find(it->second.caller); c != per_caller_count_.end()) {
    if (--c->second == 0) per_caller_count_.erase(c);
  }
  places_.erase(it);
}

size_t MadeHere::drop_gone(uid_t caller, const StillThere& still_there) {
  std::vector<std::pair<InodeKey, Place>> mine;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [object, place] : places_) {
      if (place.caller == caller) mine.emplace_back(object, place);
    }
  }
  size_t dropped = 0;
  for (const auto& [object, place] : mine) {
    if (still_there(object, place.parent, place.name)) continue;
    std::lock_guard lock(mutex_);
    auto it = places_.find(object);
    // Only the record that was looked at: a rename or a new record since is not judged here.
    if (it == places_.end() || !(it->second.parent == place.parent) ||
        it->second.name != place.name) {
      continue;
    }
    erase_locked(it);
    record_locked(object);
    ++dropped;
  }
  return dropped;
}

bool MadeHere::sticky(InodeKey object) const {
  std::lock_guard lock(mutex_);
  auto it = places_.find(object);
  return it != places_.end() && it->second.sticky;
}

void MadeHere::set_sticky(InodeKey object, bool sticky) {
  std::lock_guard lock(mutex_);
  if (auto it = places_.find(object); it != places_.end()) {
    it->second.sticky = sticky;
    record_locked(object);
  }
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
  record_locked(object);
}

void MadeHere::erase(InodeKey object) {
  std::lock_guard lock(mutex_);
  if (auto it = places_.find(object); it != places_.end()) {
    erase_locked(it);
    record_locked(object);
  }
}

void MadeHere::record_locked(InodeKey object) {
  if (!record_.valid() || record_end_ >= kMaxLog) return;
  LogEntry e{kMagic, kDrop, 0, 0, 0, static_cast<uint64_t>(object.dev), object.ino, 0, 0};
  std::string_view name;
  if (auto it = places_.find(object); it != places_.end()) {
    const Place& p = it->second;
    name = std::string_view(p.name).substr(0, 255);
    e = LogEntry{kMagic,
                 kPut,
                 static_cast<uint8_t>(p.type),
                 static_cast<uint8_t>(p.sticky),
                 static_cast<uint8_t>(name.size()),
                 static_cast<uint64_t>(object.dev),
                 object.ino,
                 static_cast<uint64_t>(p.parent.dev),
                 p.parent.ino};
  }
  std::vector<char> bytes(sizeof e + name.size());
  std::memcpy(bytes.data(), &e, sizeof e);
  if (!name.empty()) std::memcpy(bytes.data() + sizeof e, name.data(), name.size());
  auto n = sys::pwrite(record_.ref(), bytes.data(), bytes.size(), record_end_);
  if (n && n.value() == bytes.size()) {
    record_end_ += static_cast<off_t>(bytes.size());
  } else {
    record_end_ = kMaxLog;  // a gap would end a successor's replay early: keep no more
  }
  if (record_end_ >= kMaxLog) spdlog::warn("FIFOs and sockets made from now on do not outlive it");
}

Result<void> MadeHere::keep_in(Fd memfd) {
  auto st = sys::fstat(memfd.ref());
  if (!st) return st.error();
  std::vector<char> log(static_cast<size_t>(std::min<off_t>(st->st_size, kMaxLog)));
  if (!log.empty()) {
    auto n = sys::pread(memfd.ref(), log.data(), log.size(), 0);
    if (!n) return n.error();
    log.resize(n.value());
  }
  std::lock_guard lock(mutex_);
  size_t at = 0;
  while (at + sizeof(LogEntry) <= log.size()) {
    LogEntry e{};
    std::memcpy(&e, log.data() + at, sizeof e);
    if (e.magic != kMagic || at + sizeof e + e.name_length > log.size() ||
        (e.op != kPut && e.op != kDrop) || e.type > static_cast<uint8_t>(NodeType::kSocket)) {
      break;
    }
    InodeKey object{static_cast<dev_t>(e.dev), static_cast<ino_t>(e.ino)};
    if (e.op == kDrop) {
      if (auto it = places_.find(object); it != places_.end()) erase_locked(it);
    } else if (places_.size() < max_entries_ || places_.count(object)) {
      places_.insert_or_assign(
          object,
          Place{static_cast<NodeType>(e.type),
                InodeKey{static_cast<dev_t>(e.parent_dev), static_cast<ino_t>(e.parent_ino)},
                std::string(log.data() + at + sizeof e, e.name_length), e.sticky != 0});
    }
    at += sizeof e + e.name_length;
  }
  record_ = std::move(memfd);
  record_end_ = static_cast<off_t>(at);
  return {};
}

}  // namespace confinefs::objects
