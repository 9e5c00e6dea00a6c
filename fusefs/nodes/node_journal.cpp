#include "fusefs/nodes/node_journal.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace nodes {

namespace {
constexpr char kMagic[8] = {'c', 'f', 's', 'n', 'o', 'd', 'e', 's'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 4096;
}  // namespace

struct NodeJournal::Header {
  char magic[8];
  uint32_t version;
  uint32_t slot_bytes;
  uint64_t capacity;
  uint64_t root_dev, root_ino;
  uint64_t next_id;     // atomic_ref
  uint64_t slots_used;  // atomic_ref: slots at and above it were never used
};

struct NodeJournal::Slot {
  uint64_t id;  // 0: free; atomic_ref, stored last
  uint64_t parent;
  uint64_t dev, ino;
  uint64_t parents[kMaxParents];
  uint32_t depth_floor;
  int32_t backing_id;
  uint32_t passed_through;
  uint32_t cached;
  uint8_t type;
  uint8_t parent_count;
  uint8_t name_length;
  char name[255];
  char pad[1];
};
static_assert(sizeof(NodeJournal::Slot) % 8 == 0);
static_assert(sizeof(NodeJournal::Header) <= kHeaderBytes);

namespace {

size_t mapping_bytes(size_t capacity) {
  return kHeaderBytes + capacity * sizeof(NodeJournal::Slot);
}

Result<void*> map(FdRef fd, size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return last_error();
  return base;
}

std::atomic_ref<uint64_t> atomic(uint64_t& word) { return std::atomic_ref<uint64_t>(word); }

}  // namespace

NodeJournal::NodeJournal(Fd memfd, void* base, size_t capacity)
    : memfd_(std::move(memfd)), base_(base), capacity_(capacity) {}

NodeJournal::NodeJournal(NodeJournal&& other) noexcept
    : memfd_(std::move(other.memfd_)),
      base_(std::exchange(other.base_, nullptr)),
      capacity_(other.capacity_),
      free_(std::move(other.free_)),
      next_unused_(other.next_unused_) {}

NodeJournal::~NodeJournal() {
  if (base_ != nullptr) ::munmap(base_, mapping_bytes(capacity_));
}

NodeJournal::Header& NodeJournal::header() const noexcept { return *static_cast<Header*>(base_); }

NodeJournal::Slot& NodeJournal::slot(uint32_t index) const noexcept {
  auto* slots = reinterpret_cast<Slot*>(static_cast<char*>(base_) + kHeaderBytes);
  return slots[index - 1];
}

Result<NodeJournal> NodeJournal::create(size_t capacity, InodeKey root) {
  auto memfd = sys::memfd("confinefs-nodes");
  if (!memfd) return memfd.error();
  // Sparse: only the pages of slots in use take memory.
  if (auto ok = sys::ftruncate(memfd->ref(), static_cast<off_t>(mapping_bytes(capacity))); !ok) {
    return ok.error();
  }
  auto base = map(memfd->ref(), mapping_bytes(capacity));
  if (!base) return base.error();
  NodeJournal journal(std::move(memfd.value()), base.value(), capacity);
  Header& h = journal.header();
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.slot_bytes = sizeof(Slot);
  h.capacity = capacity;
  h.root_dev = root.dev;
  h.root_ino = root.ino;
  h.next_id = 0;
  h.slots_used = 1;
  return journal;
}

Result<NodeJournal> NodeJournal::adopt(Fd memfd, InodeKey root) {
  auto st = sys::fstat(memfd.ref());
  if (!st) return st.error();
  if (!S_ISREG(st->st_mode) || static_cast<size_t>(st->st_size) < kHeaderBytes) {
    return Error{EINVAL};
  }
  Header h{};
  if (auto n = sys::pread(memfd.ref(), &h, sizeof h, 0); !n || n.value() != sizeof h) {
    return Error{EINVAL};
  }
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion ||
      h.slot_bytes != sizeof(Slot) || h.capacity == 0 || h.capacity > (1u << 26) ||
      static_cast<size_t>(st->st_size) != mapping_bytes(h.capacity)) {
    return Error{EINVAL};
  }
  if (h.root_dev != root.dev || h.root_ino != root.ino) return Error{ESTALE};
  auto base = map(memfd.ref(), mapping_bytes(h.capacity));
  if (!base) return base.error();
  NodeJournal journal(std::move(memfd), base.value(), h.capacity);
  // Free slots: the unused tail and every hole below the highest slot in use. Only slots that
  // were ever used are read: reading the rest would give the sparse memfd pages.
  uint32_t highest = 0;
  uint64_t used = std::min<uint64_t>(atomic(journal.header().slots_used).load(), h.capacity + 1);
  for (uint32_t i = 1; i < used; ++i) {
    if (atomic(journal.slot(i).id).load(std::memory_order_acquire) != 0) highest = i;
  }
  for (uint32_t i = highest; i >= 1; --i) {
    if (atomic(journal.slot(i).id).load(std::memory_order_acquire) == 0) journal.free_.push_back(i);
  }
  journal.next_unused_ = highest + 1;
  return journal;
}

std::vector<RecordedNode> NodeJournal::recorded() const {
  std::vector<RecordedNode> found;
  for (uint32_t i = 1; i < next_unused_; ++i) {
    Slot& s = slot(i);
    uint64_t id = atomic(s.id).load(std::memory_order_acquire);
    if (id == 0) continue;
    RecordedNode r;
    r.slot = i;
    r.id = id;
    r.parent = s.parent;
    r.key = InodeKey{static_cast<dev_t>(s.dev), static_cast<ino_t>(s.ino)};
    // A type this version does not know is left out: its node then answers ESTALE.
    if (s.type > static_cast<uint8_t>(NodeType::kSocket)) continue;
    r.type = static_cast<NodeType>(s.type);
    r.name.assign(s.name, std::min<size_t>(s.name_length, sizeof s.name));
    r.parents.assign(s.parents, s.parents + std::min<size_t>(s.parent_count, kMaxParents));
    r.depth_floor = s.depth_floor;
    r.opens = KernelOpens{s.backing_id, s.passed_through, s.cached};
    found.push_back(std::move(r));
  }
  return found;
}

uint64_t NodeJournal::next_id() const noexcept {
  return atomic(header().next_id).load(std::memory_order_acquire);
}

void NodeJournal::set_next_id(uint64_t id) noexcept {
  atomic(header().next_id).store(id, std::memory_order_release);
}

std::optional<uint32_t> NodeJournal::claim() {
  if (!free_.empty()) {
    uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  if (next_unused_ > capacity_) return std::nullopt;
  atomic(header().slots_used).store(next_unused_ + 1, std::memory_order_release);
  return next_unused_++;
}

void NodeJournal::write(uint32_t index, const NodeRecord& r) noexcept {
  Slot& s = slot(index);
  atomic(s.id).store(0, std::memory_order_release);
  s.parent = r.parent;
  s.dev = r.key.dev;
  s.ino = r.key.ino;
  size_t count = std::min(r.parents.size(), kMaxParents);
  std::copy_n(r.parents.begin(), count, s.parents);
  s.parent_count = static_cast<uint8_t>(count);
  s.depth_floor = r.depth_floor;
  s.backing_id = r.opens.backing_id;
  s.passed_through = r.opens.passed_through;
  s.cached = r.opens.cached;
  s.type = static_cast<uint8_t>(r.type);
  size_t length = std::min(r.name.size(), sizeof s.name);
  if (length != 0) std::memcpy(s.name, r.name.data(), length);
  s.name_length = static_cast<uint8_t>(length);
  atomic(s.id).store(r.id, std::memory_order_release);
}

void NodeJournal::release(uint32_t index) noexcept {
  atomic(slot(index).id).store(0, std::memory_order_release);
  free_.push_back(index);
}

}  // namespace nodes
}  // namespace confinefs
