#include "fusefs/fuse/passthrough_record.h"

#include <algorithm>

namespace confinefs::fuse {

struct PassthroughRecord::Slot {
  uint64_t node;  // the key: 0 while free
  int32_t backing_id;
  uint32_t passed_through;
  uint32_t cached;
  uint32_t pad;
  uint64_t opened[KernelOpens::kRecent];
  uint64_t released[KernelOpens::kRecent];
};
static_assert(sizeof(PassthroughRecord::Slot) == 88);

namespace {
constexpr sys::SlotFormat kFormat{
    {'c', 'f', 's', 'p', 'a', 's', 's', ' '}, 1, 1, sizeof(PassthroughRecord::Slot)};
}  // namespace

PassthroughRecord::PassthroughRecord(sys::SlotFile file) : file_(std::move(file)) {}

Result<PassthroughRecord> PassthroughRecord::create(size_t capacity) {
  auto file = sys::SlotFile::create("confinefs-passthrough", kFormat, capacity);
  if (!file) return file.error();
  return PassthroughRecord(std::move(file.value()));
}

Result<PassthroughRecord> PassthroughRecord::adopt(Fd memfd) {
  auto file = sys::SlotFile::adopt(std::move(memfd), kFormat);
  if (!file) return file.error();
  PassthroughRecord record(std::move(file.value()));
  for (uint32_t index : record.file_.in_use()) {
    uint64_t node = record.file_.key(index).load(std::memory_order_acquire);
    // Two slots of one node can only be a torn reuse: the second is no record.
    if (!record.slots_.emplace(node, index).second) record.file_.release(index);
  }
  return record;
}

std::vector<std::pair<uint64_t, KernelOpens>> PassthroughRecord::recorded() const {
  std::vector<std::pair<uint64_t, KernelOpens>> found;
  for (const auto& [node, index] : slots_) {
    const Slot& s = file_.at<Slot>(index);
    KernelOpens opens{s.backing_id, s.passed_through, s.cached};
    std::copy_n(s.opened, KernelOpens::kRecent, opens.opened.begin());
    std::copy_n(s.released, KernelOpens::kRecent, opens.released.begin());
    found.emplace_back(node, opens);
  }
  return found;
}

bool PassthroughRecord::write(uint64_t node, const KernelOpens& opens) noexcept {
  auto it = slots_.find(node);
  if (opens.passed_through == 0 && opens.cached == 0) {
    if (it != slots_.end()) {
      file_.release(it->second);
      slots_.erase(it);
    }
    return true;
  }
  if (it == slots_.end()) {
    auto index = file_.claim();
    if (!index) return false;
    it = slots_.emplace(node, *index).first;
  }
  file_.write<Slot>(it->second, node, [&](Slot& s) {
    s.backing_id = opens.backing_id;
    s.passed_through = opens.passed_through;
    s.cached = opens.cached;
    s.pad = 0;
    std::copy(opens.opened.begin(), opens.opened.end(), s.opened);
    std::copy(opens.released.begin(), opens.released.end(), s.released);
  });
  return true;
}

}  // namespace confinefs::fuse
