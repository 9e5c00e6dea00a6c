#include "fusefs/nodes/node_journal.h"

#include <algorithm>
#include <cstring>

namespace confinefs {
inline namespace nodes {

struct NodeJournal::Slot {
  uint64_t id;  // the key: 0 while free
  uint64_t parent;
  uint64_t dev, ino;
  uint64_t parents[kMaxParents];
  uint32_t depth_floor;
  int32_t format1_backing_id;  // version 1 only (see node_journal.h); 0 in version 2
  uint32_t format1_passed_through;
  uint32_t format1_cached;
  uint8_t type;
  uint8_t parent_count;
  uint8_t name_length;
  char name[255];
  char pad[1];
};
static_assert(sizeof(NodeJournal::Slot) % 8 == 0);

namespace {

constexpr sys::SlotFormat kFormat{
    {'c', 'f', 's', 'n', 'o', 'd', 'e', 's'}, 2, 1, sizeof(NodeJournal::Slot)};
enum OwnWord : size_t { kRootDev, kRootIno, kNextId };

}  // namespace

NodeJournal::NodeJournal(sys::SlotFile file) : file_(std::move(file)) {}

Result<std::unique_ptr<NodeJournal>> NodeJournal::create(size_t capacity, InodeKey root) {
  auto file = sys::SlotFile::create("confinefs-nodes", kFormat, capacity);
  if (!file) return file.error();
  file->own(kRootDev).store(root.dev);
  file->own(kRootIno).store(root.ino);
  return std::unique_ptr<NodeJournal>(new NodeJournal(std::move(file.value())));
}

Result<std::unique_ptr<NodeJournal>> NodeJournal::adopt(Fd memfd, InodeKey root) {
  auto file = sys::SlotFile::adopt(std::move(memfd), kFormat);
  if (!file) return file.error();
  if (file->own(kRootDev).load() != root.dev || file->own(kRootIno).load() != root.ino) {
    return Error{ESTALE};
  }
  std::unique_ptr<NodeJournal> journal(new NodeJournal(std::move(file.value())));
  for (uint32_t index : journal->file_.in_use()) {
    uint64_t id = journal->file_.key(index).load(std::memory_order_acquire);
    // Two slots of one id can only be a torn reuse: the second is no record.
    if (!journal->slots_.emplace(id, index).second) journal->file_.release(index);
  }
  return journal;
}

Predecessor NodeJournal::predecessor() const {
  Predecessor found{{}, file_.own(kNextId).load(std::memory_order_acquire)};
  for (const auto& [id, index] : slots_) {
    const Slot& s = file_.at<Slot>(index);
    // A type this version does not know is left out: its node then answers ESTALE.
    if (s.type > static_cast<uint8_t>(NodeType::kSocket)) continue;
    NodePlace place{
        s.parent, std::string(s.name, std::min<size_t>(s.name_length, sizeof s.name)),
        std::vector<uint64_t>(s.parents, s.parents + std::min<size_t>(s.parent_count, kMaxParents)),
        s.depth_floor};
    if (place.parents.empty()) place.parents.push_back(place.parent);
    found.nodes.push_back(
        std::make_shared<Node>(id, InodeKey{static_cast<dev_t>(s.dev), static_cast<ino_t>(s.ino)},
                               static_cast<NodeType>(s.type), std::move(place)));
  }
  return found;
}

std::vector<NodeJournal::Format1Opens> NodeJournal::format1_opens() const {
  std::vector<Format1Opens> found;
  if (file_.version() != 1) return found;
  for (const auto& [id, index] : slots_) {
    const Slot& s = file_.at<Slot>(index);
    if (s.format1_passed_through != 0 || s.format1_cached != 0) {
      found.push_back({id, s.format1_backing_id, s.format1_passed_through, s.format1_cached});
    }
  }
  return found;
}

bool NodeJournal::has_room() const noexcept { return file_.has_room(); }

void NodeJournal::changed(const Node& node) noexcept {
  auto [it, added] = slots_.try_emplace(node.id(), 0);
  if (added) {
    auto index = file_.claim();
    if (!index) {  // has_room() said no before the table made the node: never reached
      slots_.erase(it);
      return;
    }
    it->second = *index;
  }
  const NodePlace& place = node.place();
  file_.write<Slot>(it->second, node.id(), [&](Slot& s) {
    s.parent = place.parent;
    s.dev = node.key().dev;
    s.ino = node.key().ino;
    size_t count = std::min(place.parents.size(), kMaxParents);
    std::copy_n(place.parents.begin(), count, s.parents);
    s.parent_count = static_cast<uint8_t>(count);
    s.depth_floor = place.depth_floor;
    s.format1_backing_id = 0;
    s.format1_passed_through = 0;
    s.format1_cached = 0;
    s.type = static_cast<uint8_t>(node.type());
    size_t length = std::min(place.name.size(), sizeof s.name);
    if (length != 0) std::memcpy(s.name, place.name.data(), length);
    s.name_length = static_cast<uint8_t>(length);
  });
}

void NodeJournal::released(const Node& node) noexcept {
  if (auto it = slots_.find(node.id()); it != slots_.end()) {
    file_.release(it->second);
    slots_.erase(it);
  }
}

void NodeJournal::ids_below(uint64_t next_id) noexcept {
  file_.own(kNextId).store(next_id, std::memory_order_release);
}

}  // namespace nodes
}  // namespace confinefs
