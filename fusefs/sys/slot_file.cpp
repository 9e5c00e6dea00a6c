#include "fusefs/sys/slot_file.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "fusefs/sys/syscalls.h"

namespace confinefs::sys {

struct SlotFile::Header {
  char magic[8];
  uint32_t version;
  uint32_t slot_bytes;
  uint64_t capacity;
  uint64_t own[kOwnWords];
  uint64_t slots_used;  // atomic_ref
};

namespace {

constexpr size_t kHeaderBytes = 4096;
constexpr uint64_t kMaxCapacity = uint64_t{1} << 26;

size_t mapping_bytes(size_t capacity, uint32_t slot_bytes) {
  return kHeaderBytes + capacity * slot_bytes;
}

Result<void*> map(FdRef fd, size_t bytes) {
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return last_error();
  return base;
}

}  // namespace

SlotFile::SlotFile(Fd memfd, void* base, size_t capacity, uint32_t slot_bytes, uint32_t version)
    : memfd_(std::move(memfd)),
      base_(base),
      capacity_(capacity),
      slot_bytes_(slot_bytes),
      version_(version) {}

SlotFile::SlotFile(SlotFile&& other) noexcept
    : memfd_(std::move(other.memfd_)),
      base_(std::exchange(other.base_, nullptr)),
      capacity_(other.capacity_),
      slot_bytes_(other.slot_bytes_),
      version_(other.version_),
      free_(std::move(other.free_)),
      next_unused_(other.next_unused_) {}

SlotFile::~SlotFile() {
  if (base_ != nullptr) ::munmap(base_, mapping_bytes(capacity_, slot_bytes_));
}

SlotFile::Header& SlotFile::header() const noexcept { return *static_cast<Header*>(base_); }

void* SlotFile::slot(uint32_t index) const noexcept {
  return static_cast<char*>(base_) + kHeaderBytes + size_t{index - 1} * slot_bytes_;
}

std::atomic_ref<uint64_t> SlotFile::key(uint32_t index) const noexcept {
  return std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(slot(index)));
}

std::atomic_ref<uint64_t> SlotFile::own(size_t word) const noexcept {
  return std::atomic_ref<uint64_t>(header().own[word]);
}

Result<SlotFile> SlotFile::create(const char* name, const SlotFormat& format, size_t capacity) {
  if (capacity == 0 || capacity > kMaxCapacity || format.slot_bytes % 8 != 0) return Error{EINVAL};
  auto made = memfd(name);
  if (!made) return made.error();
  size_t bytes = mapping_bytes(capacity, format.slot_bytes);
  if (auto ok = ftruncate(made->ref(), static_cast<off_t>(bytes)); !ok) return ok.error();
  auto base = map(made->ref(), bytes);
  if (!base) return base.error();
  SlotFile file(std::move(made.value()), base.value(), capacity, format.slot_bytes, format.version);
  Header& h = file.header();
  std::memcpy(h.magic, format.magic, sizeof h.magic);
  h.version = format.version;
  h.slot_bytes = format.slot_bytes;
  h.capacity = capacity;
  h.slots_used = 1;
  return file;
}

Result<SlotFile> SlotFile::adopt(Fd memfd, const SlotFormat& format) {
  auto st = fstat(memfd.ref());
  if (!st) return st.error();
  if (!S_ISREG(st->st_mode) || static_cast<size_t>(st->st_size) < kHeaderBytes) {
    return Error{EINVAL};
  }
  Header h{};
  if (auto n = pread(memfd.ref(), &h, sizeof h, 0); !n || n.value() != sizeof h) {
    return Error{EINVAL};
  }
  if (std::memcmp(h.magic, format.magic, sizeof h.magic) != 0 ||
      h.version < format.oldest_version || h.version > format.version ||
      h.slot_bytes != format.slot_bytes || h.capacity == 0 || h.capacity > kMaxCapacity ||
      static_cast<size_t>(st->st_size) != mapping_bytes(h.capacity, h.slot_bytes)) {
    return Error{EINVAL};
  }
  auto base = map(memfd.ref(), mapping_bytes(h.capacity, h.slot_bytes));
  if (!base) return base.error();
  SlotFile file(std::move(memfd), base.value(), h.capacity, h.slot_bytes, h.version);
  // Free slots: every hole below the highest slot in use (then the unused tail).
  uint64_t used = std::min<uint64_t>(
      std::atomic_ref<uint64_t>(file.header().slots_used).load(std::memory_order_acquire),
      h.capacity + 1);
  uint32_t highest = 0;
  for (uint32_t i = 1; i < used; ++i) {
    if (file.key(i).load(std::memory_order_acquire) != 0) highest = i;
  }
  for (uint32_t i = highest; i >= 1; --i) {
    if (file.key(i).load(std::memory_order_acquire) == 0) file.free_.push_back(i);
  }
  file.next_unused_ = highest + 1;
  return file;
}

std::vector<uint32_t> SlotFile::in_use() const {
  std::vector<uint32_t> found;
  for (uint32_t i = 1; i < next_unused_; ++i) {
    if (key(i).load(std::memory_order_acquire) != 0) found.push_back(i);
  }
  return found;
}

std::optional<uint32_t> SlotFile::claim() {
  if (!free_.empty()) {
    uint32_t index = free_.back();
    free_.pop_back();
    return index;
  }
  if (next_unused_ > capacity_) return std::nullopt;
  std::atomic_ref<uint64_t>(header().slots_used).store(next_unused_ + 1, std::memory_order_release);
  return next_unused_++;
}

void SlotFile::release(uint32_t index) noexcept {
  key(index).store(0, std::memory_order_release);
  try {
    free_.push_back(index);
  } catch (...) {  // out of memory: the slot is lost to this daemon, never reused twice
  }
}

}  // namespace confinefs::sys
