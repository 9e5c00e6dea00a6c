// The slot stores of resume state (sys/slot_file.h) and the node journal's formats
// (nodes/node_journal.h; the passthrough record's: tests/fuse/passthrough_record_test.cpp). A
// successor reads only a layout it knows, a slot torn by a crash is a free slot, and a format-1
// journal (the layout of daemons that kept the passthrough counts in it) is still read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fusefs/nodes/node_journal.h"
#include "fusefs/nodes/node_table.h"
#include "fusefs/sys/slot_file.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {
namespace {

struct TestSlot {
  uint64_t key;
  uint64_t value;
};
constexpr sys::SlotFormat kFormat{{'t', 'e', 's', 't', 's', 'l', 'o', 't'}, 3, 2, sizeof(TestSlot)};
constexpr off_t kHeaderBytes = 4096;
constexpr off_t kVersionAt = 8;

Fd copy_of(FdRef fd) {
  auto copy = sys::dup(fd);
  EXPECT_TRUE(copy);
  return copy ? std::move(copy.value()) : Fd();
}

void put(FdRef fd, off_t at, uint32_t value) { ASSERT_EQ(::pwrite(fd.get(), &value, 4, at), 4); }

TEST(SlotFile, ASuccessorFindsTheSlotsInUseAndReusesTheHoles) {
  auto file = sys::SlotFile::create("test", kFormat, 4);
  ASSERT_TRUE(file);
  for (uint64_t k = 1; k <= 3; ++k) {
    auto index = file->claim();
    ASSERT_TRUE(index);
    file->write<TestSlot>(*index, k * 100, [&](TestSlot& s) { s.value = k; });
  }
  file->release(2);
  // A writer killed midway: the key was cleared first, so the slot reads free.
  file->key(3).store(0);
  auto next = sys::SlotFile::adopt(copy_of(file->fd()), kFormat);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->in_use(), std::vector<uint32_t>{1});
  EXPECT_EQ(next->at<TestSlot>(1).value, 1u);
  std::vector<uint32_t> claimed;
  while (auto index = next->claim()) claimed.push_back(*index);
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed, (std::vector<uint32_t>{2, 3, 4})) << "the holes, then the unused tail";
  EXPECT_FALSE(next->has_room());
}

TEST(SlotFile, OnlyALayoutItKnowsIsRead) {
  auto file = sys::SlotFile::create("test", kFormat, 4);
  ASSERT_TRUE(file);
  EXPECT_TRUE(sys::SlotFile::adopt(copy_of(file->fd()), kFormat));
  sys::SlotFormat other = kFormat;
  other.magic[0] = 'x';
  EXPECT_EQ(sys::SlotFile::adopt(copy_of(file->fd()), other).code(), EINVAL) << "another store";
  other = kFormat;
  other.slot_bytes = 24;
  EXPECT_EQ(sys::SlotFile::adopt(copy_of(file->fd()), other).code(), EINVAL) << "another slot";
  put(file->fd(), kVersionAt, 4);
  EXPECT_EQ(sys::SlotFile::adopt(copy_of(file->fd()), kFormat).code(), EINVAL) << "newer";
  put(file->fd(), kVersionAt, 1);
  EXPECT_EQ(sys::SlotFile::adopt(copy_of(file->fd()), kFormat).code(), EINVAL) << "too old";
  put(file->fd(), kVersionAt, 2);
  auto older = sys::SlotFile::adopt(copy_of(file->fd()), kFormat);
  ASSERT_TRUE(older) << "the oldest it reads";
  EXPECT_EQ(older->version(), 2u);
  ASSERT_EQ(::ftruncate(file->fd().get(), kHeaderBytes + 3 * sizeof(TestSlot)), 0);
  EXPECT_EQ(sys::SlotFile::adopt(copy_of(file->fd()), kFormat).code(), EINVAL) << "cut short";
}

// Format 1, as those daemons wrote it: slot 1 at 4096, its id first, the passthrough counts
// (backing id, opens passed through, opens through the page cache) at bytes 108, 112 and 116 of the
// slot.
TEST(NodeJournalFormat, AFormat1JournalsPassthroughCountsAreRead) {
  constexpr InodeKey kRootKey{1, 2};
  auto journal = NodeJournal::create(4, kRootKey);
  ASSERT_TRUE(journal);
  NodeTable table(kRootKey, Fd(::open("/", O_PATH | O_CLOEXEC)), 4);
  Fd fd = copy_of(journal.value()->fd());
  table.observe(std::move(journal.value()), {});
  auto node = table.remember({1, 3}, NodeType::kRegular, Fd(::open("/", O_PATH | O_CLOEXEC)),
                             NodeTable::kRootId, "f");
  ASSERT_TRUE(node);
  for (auto [at, value] : {std::pair{108, 6}, {112, 1}, {116, 0}}) {
    put(fd.ref(), kHeaderBytes + at, value);
  }
  auto current = NodeJournal::adopt(copy_of(fd.ref()), kRootKey);
  ASSERT_TRUE(current);
  EXPECT_EQ(current.value()->format(), 2u);
  EXPECT_TRUE(current.value()->format1_opens().empty()) << "format 2 keeps no counts";
  put(fd.ref(), kVersionAt, 1);
  auto old = NodeJournal::adopt(copy_of(fd.ref()), kRootKey);
  ASSERT_TRUE(old);
  EXPECT_EQ(old.value()->format(), 1u);
  auto counts = old.value()->format1_opens();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].node, node.value()->id());
  EXPECT_EQ(counts[0].backing_id, 6);
  EXPECT_EQ(counts[0].passed_through, 1u);
  auto predecessor = old.value()->predecessor();
  ASSERT_EQ(predecessor.nodes.size(), 1u);
  EXPECT_EQ(predecessor.nodes[0]->key(), (InodeKey{1, 3}));
  EXPECT_FALSE(predecessor.nodes[0]->served());
}

}  // namespace
}  // namespace confinefs
