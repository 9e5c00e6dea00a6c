// The passthrough counts kept for a successor (fuse/passthrough_record.h): what the kernel still
// has open of each inode, read back by the next daemon; a node with no opens left has no slot.
#include "fusefs/fuse/passthrough_record.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fusefs/nodes/node_journal.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {
namespace {

Fd copy_of(FdRef fd) {
  auto copy = sys::dup(fd);
  EXPECT_TRUE(copy);
  return copy ? std::move(copy.value()) : Fd();
}

TEST(PassthroughRecord, TheCountsOfOpenInodesOutliveTheDaemon) {
  auto record = fuse::PassthroughRecord::create(2);
  ASSERT_TRUE(record);
  EXPECT_TRUE(record->write(5, {3, 2, 0}));
  EXPECT_TRUE(record->write(9, {0, 0, 1}));
  EXPECT_TRUE(record->write(5, {0, 0, 0})) << "the last open of 5 closed: its slot is freed";
  EXPECT_TRUE(record->write(7, {4, 1, 0}));
  EXPECT_FALSE(record->write(8, {0, 0, 1})) << "full";
  auto next = fuse::PassthroughRecord::adopt(copy_of(record->fd()));
  ASSERT_TRUE(next);
  auto counts = next->recorded();
  std::sort(counts.begin(), counts.end(), [](auto& a, auto& b) { return a.first < b.first; });
  using Counts = std::vector<std::pair<uint64_t, fuse::KernelOpens>>;
  EXPECT_EQ(counts, (Counts{{7, {4, 1, 0}}, {9, {0, 0, 1}}}));
  EXPECT_EQ(
      fuse::PassthroughRecord::adopt(copy_of(NodeJournal::create(4, {1, 2}).value()->fd())).code(),
      EINVAL)
      << "a node journal is no passthrough record";
}

}  // namespace
}  // namespace confinefs
