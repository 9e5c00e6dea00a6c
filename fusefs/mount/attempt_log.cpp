#include "fusefs/mount/attempt_log.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace confinefs {
inline namespace mount {

struct AttemptLog::Slot {
  uint64_t unique;  // the key: 0 while free
  uint32_t op;
  uint32_t state;    // kBegun or kDone
  uint32_t present;  // bit i: before[i] holds an inode; bit 2: made; bit 3: existed
  int64_t result;
  uint64_t before[2][2];
  uint64_t made[2];
  int64_t size_before;
  int64_t begun_ns;
  uint8_t parking_length;
  char parking[63];
};
static_assert(sizeof(AttemptLog::Slot) == 160);

namespace {

constexpr sys::SlotFormat kFormat{
    {'c', 'f', 's', 'r', 'e', 'q', 's', ' '}, 1, 1, sizeof(AttemptLog::Slot)};
constexpr uint32_t kBegun = 1, kDone = 2;
enum OwnWord : size_t { kMountId, kMountUniqueId };
constexpr uint32_t kMade = 1u << 2, kExisted = 1u << 3;

Attempt read(const AttemptLog::Slot& s) {
  Attempt a;
  a.op = s.op;
  a.done = s.state == kDone;
  a.result = s.result;
  for (size_t i = 0; i < 2; ++i) {
    if (s.present & (1u << i)) {
      a.before[i] =
          InodeKey{static_cast<dev_t>(s.before[i][0]), static_cast<ino_t>(s.before[i][1])};
    }
  }
  if (s.present & kMade) {
    a.made = InodeKey{static_cast<dev_t>(s.made[0]), static_cast<ino_t>(s.made[1])};
  }
  a.size_before = s.size_before;
  a.existed = (s.present & kExisted) != 0;
  a.begun_ns = s.begun_ns;
  a.parking.assign(s.parking, std::min<size_t>(s.parking_length, sizeof s.parking));
  return a;
}

void fill(AttemptLog::Slot& s, const Attempt& a) {
  s.op = a.op;
  s.state = a.done ? kDone : kBegun;
  s.result = a.result;
  s.present = 0;
  for (size_t i = 0; i < 2; ++i) {
    s.before[i][0] = a.before[i] ? a.before[i]->dev : 0;
    s.before[i][1] = a.before[i] ? a.before[i]->ino : 0;
    if (a.before[i]) s.present |= 1u << i;
  }
  s.made[0] = a.made ? a.made->dev : 0;
  s.made[1] = a.made ? a.made->ino : 0;
  if (a.made) s.present |= kMade;
  if (a.existed) s.present |= kExisted;
  s.size_before = a.size_before;
  s.begun_ns = a.begun_ns;
  size_t length = std::min(a.parking.size(), sizeof s.parking);
  std::memcpy(s.parking, a.parking.data(), length);
  s.parking_length = static_cast<uint8_t>(length);
}

}  // namespace

AttemptLog::AttemptLog(sys::SlotFile file) : file_(std::move(file)) {}

AttemptLog::AttemptLog(AttemptLog&& other) noexcept
    : file_(std::move(other.file_)),
      slots_(std::move(other.slots_)),
      predecessors_(std::move(other.predecessors_)),
      kept_(other.kept_.load()),
      fresh_seen_(other.fresh_seen_.load()),
      fresh_since_(other.fresh_since_) {}

Result<AttemptLog> AttemptLog::create(Connection connection) {
  auto file = sys::SlotFile::create("confinefs-requests", kFormat, kCapacity);
  if (!file) return file.error();
  file->own(kMountId).store(connection.mount_id);
  file->own(kMountUniqueId).store(connection.mount_unique_id);
  return AttemptLog(std::move(file.value()));
}

Result<AttemptLog> AttemptLog::adopt(Fd memfd, Connection connection) {
  auto file = sys::SlotFile::adopt(std::move(memfd), kFormat);
  if (!file) return file.error();
  if (file->own(kMountId).load() != connection.mount_id ||
      file->own(kMountUniqueId).load() != connection.mount_unique_id) {
    return Error{ESTALE};
  }
  AttemptLog log(std::move(file.value()));
  for (uint32_t index : log.file_.in_use()) {
    uint64_t unique = log.file_.key(index).load(std::memory_order_acquire);
    if (!log.slots_.emplace(unique, index).second) {
      log.file_.release(index);  // a torn reuse
      continue;
    }
    log.predecessors_.emplace(unique, Predecessors{read(log.file_.at<Slot>(index))});
  }
  log.kept_ = log.slots_.size();
  return log;
}

std::optional<Attempt> AttemptLog::claim(uint64_t unique, uint32_t op) {
  std::lock_guard lock(mutex_);
  auto it = predecessors_.find(unique);
  if (it == predecessors_.end() || it->second.attempt.op != op) return std::nullopt;
  it->second.claimed = true;
  return it->second.attempt;
}

void AttemptLog::fresh_request() {
  if (fresh_seen_.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mutex_);
  if (fresh_seen_.exchange(true)) return;
  fresh_since_ = std::chrono::steady_clock::now();
}

void AttemptLog::expire_locked() {
  if (predecessors_.empty() || !fresh_seen_.load(std::memory_order_relaxed) ||
      std::chrono::steady_clock::now() - fresh_since_ < kUnclaimed) {
    return;
  }
  std::vector<uint64_t> unclaimed;
  for (const auto& [unique, p] : predecessors_) {
    if (!p.claimed) unclaimed.push_back(unique);
  }
  for (uint64_t unique : unclaimed) release_locked(unique);
}

bool AttemptLog::begin(uint64_t unique, const Attempt& attempt) {
  std::lock_guard lock(mutex_);
  expire_locked();
  predecessors_.erase(unique);  // this daemon decided it had not happened: its own record now
  auto [it, added] = slots_.try_emplace(unique, 0);
  if (added) {
    auto index = file_.claim();
    if (!index) {
      slots_.erase(it);
      return false;
    }
    it->second = *index;
    kept_.fetch_add(1, std::memory_order_relaxed);
  }
  file_.write<Slot>(it->second, unique, [&](Slot& s) { fill(s, attempt); });
  return true;
}

void AttemptLog::done(uint64_t unique, int64_t result, std::optional<InodeKey> made) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(unique);
  if (it == slots_.end() || predecessors_.contains(unique)) return;
  // In place, the state last: killed before it, the record still says begun (its result and
  // inode are read only once it says done), never a free slot for a change that was made.
  Slot& s = file_.in_place<Slot>(it->second);
  s.result = result;
  s.made[0] = made ? made->dev : 0;
  s.made[1] = made ? made->ino : 0;
  if (made) s.present |= kMade;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::atomic_ref<uint32_t>(s.state).store(kDone, std::memory_order_release);
}

void AttemptLog::answered(uint64_t unique) {
  if (kept_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mutex_);
  release_locked(unique);
  expire_locked();
}

void AttemptLog::release_locked(uint64_t unique) {
  predecessors_.erase(unique);
  auto it = slots_.find(unique);
  if (it == slots_.end()) return;
  file_.release(it->second);
  slots_.erase(it);
  kept_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace mount
}  // namespace confinefs
