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

Result<void> MadeHere::add(InodeKey object, NodeType type, InodeKey parent, std::string_view name,
                           bool sticky) {
  std::lock_guard lock(mutex_);
  if (places_.size() >= max_entries_ && !places_.count(object)) return Error{ENOSPC};
  places_.insert_or_assign(object, Place{type, parent, std::string(name), sticky});
  record_locked(object);
  return {};
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
  if (places_.erase(object) != 0) record_locked(object);
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
      places_.erase(object);
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
