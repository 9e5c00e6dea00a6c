// SlotFile: a memfd of fixed-size slots, kept in the daemon's supervisor for the next daemon
// (docs/design.md, "Surviving the daemon"). The one shape of the slot stores of resume state:
// the node journal (nodes/node_journal.h) and the passthrough counts (fuse/passthrough_record.h).
//
// Format: a 4096-byte header, then `capacity` slots of slot_bytes each, numbered from 1.
//   magic[8]  u32 version  u32 slot_bytes  u64 capacity  u64 own[3]  u64 slots_used
// `own` are three words of the store's; slots at and above slots_used were never written. A
// slot's first word is its key: 0 while the slot is free.
// Versions: each store names the format it writes and the oldest it still reads; a memfd of
// another magic, a version outside that range, another slot size or a size that does not match
// is refused (EINVAL), so a successor never reads a layout it does not know.
// Crash consistency: a slot is written in place with its key cleared first and stored last
// (release order), so a writer killed midway leaves a free slot, never a record mixing two.
// Stores to a shared mapping reach the memfd's pages when they are made: SIGKILL loses nothing
// written before it. The memfd is sparse, and only slots ever used are read, so the pages of
// unused slots never take memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::sys {

struct SlotFormat {
  char magic[8];
  uint32_t version;         // the format this daemon writes
  uint32_t oldest_version;  // the oldest format a predecessor may have written that it reads
  uint32_t slot_bytes;      // the same in every version read
};

class SlotFile {
 public:
  static constexpr size_t kOwnWords = 3;

  // A new, empty store of capacity slots (the memfd is named name).
  static Result<SlotFile> create(const char* name, const SlotFormat& format, size_t capacity);
  // A predecessor's store, checked against format: EINVAL when it is not one.
  static Result<SlotFile> adopt(Fd memfd, const SlotFormat& format);

  SlotFile(SlotFile&& other) noexcept;
  SlotFile& operator=(SlotFile&&) = delete;
  SlotFile(const SlotFile&) = delete;
  SlotFile& operator=(const SlotFile&) = delete;
  ~SlotFile();

  FdRef fd() const noexcept { return memfd_.ref(); }
  size_t capacity() const noexcept { return capacity_; }
  // The format of the daemon that made the store: a successor reads it and writes its own slots
  // in it, never changing the header (what an older format kept, the store's owner reads).
  uint32_t version() const noexcept { return version_; }
  std::atomic_ref<uint64_t> own(size_t word) const noexcept;

  // The slots in use at adopt() (none for a new store), lowest first.
  std::vector<uint32_t> in_use() const;
  // A free slot, or nullopt when all capacity slots are taken.
  std::optional<uint32_t> claim();
  bool has_room() const noexcept { return !free_.empty() || next_unused_ <= capacity_; }
  // Frees the slot; its record is gone at once.
  void release(uint32_t index) noexcept;

  // Slot index as Slot, a standard-layout struct of slot_bytes whose first member is the
  // uint64_t key. Read only; write() writes.
  template <typename Slot>
  const Slot& at(uint32_t index) const noexcept {
    return *static_cast<const Slot*>(slot(index));
  }
  std::atomic_ref<uint64_t> key(uint32_t index) const noexcept;
  // Writes slot index as key: the key cleared, fill(slot) run, the key stored last.
  // (The signal fences keep the compiler from moving fill's plain stores across the key's: a
  // process killed between two stores leaves them in memory in program order.)
  template <typename Slot, typename Fill>
  void write(uint32_t index, uint64_t key_value, Fill&& fill) noexcept {
    key(index).store(0, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    fill(*static_cast<Slot*>(slot(index)));
    std::atomic_signal_fence(std::memory_order_seq_cst);
    key(index).store(key_value, std::memory_order_release);
  }
  // Slot index as Slot, for a change made in place under the key (the owner orders it).
  template <typename Slot>
  Slot& in_place(uint32_t index) noexcept {
    return *static_cast<Slot*>(slot(index));
  }

 private:
  struct Header;
  SlotFile(Fd memfd, void* base, size_t capacity, uint32_t slot_bytes, uint32_t version);
  Header& header() const noexcept;
  void* slot(uint32_t index) const noexcept;

  Fd memfd_;
  void* base_ = nullptr;
  size_t capacity_ = 0;
  uint32_t slot_bytes_ = 0;
  uint32_t version_ = 0;
  std::vector<uint32_t> free_;  // freed slots, reused first (the pages in use stay few)
  uint32_t next_unused_ = 1;    // slots at and above this were never used
};

}  // namespace confinefs::sys
