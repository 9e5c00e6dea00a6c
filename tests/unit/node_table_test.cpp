// NodeTable's reclaim support: the sweep that picks which kernel entries to invalidate when the
// table is over its budget, and the pressure signal that starts it.
#include "fusefs/nodes/node_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace confinefs {
namespace {

Fd any_handle() { return Fd(::open("/", O_PATH | O_CLOEXEC)); }

using Located = std::vector<std::pair<uint64_t, std::string>>;

class NodeTableSweep : public ::testing::Test {
 protected:
  // n more nodes "f<k>" in the root, numbered on from the last call, looked up in that order.
  void add(int n) {
    for (int i = static_cast<int>(ids_.size()) + 1; n > 0; ++i, --n) {
      auto node = table_.remember(InodeKey{7, static_cast<ino_t>(i)}, NodeType::kRegular,
                                  any_handle(), NodeTable::kRootId, "f" + std::to_string(i));
      ASSERT_TRUE(node);
      ids_.push_back(node.value()->id());
    }
  }
  NodeTable table_{InodeKey{7, 1000000}, any_handle(), 1000};
  std::vector<uint64_t> ids_;
};

TEST_F(NodeTableSweep, OldestFirstThenContinuesAndWrapsNeverTheRoot) {
  add(5);
  const uint64_t root = NodeTable::kRootId;
  EXPECT_EQ(table_.sweep(2), (Located{{root, "f1"}, {root, "f2"}}));
  EXPECT_EQ(table_.sweep(2), (Located{{root, "f3"}, {root, "f4"}}));
  // Past the newest node the sweep starts again from the oldest; the root is never returned.
  EXPECT_EQ(table_.sweep(3), (Located{{root, "f5"}, {root, "f1"}, {root, "f2"}}));
  table_.forget(ids_[2], 1);  // f3 forgotten: skipped
  EXPECT_EQ(table_.sweep(2), (Located{{root, "f4"}, {root, "f5"}}));
  EXPECT_EQ(table_.sweep(100).size(), 4u);
  EXPECT_EQ(table_.released(), 1u);
}

TEST_F(NodeTableSweep, PressureIsSignalledFromTheMarkOn) {
  int signals = 0;
  table_.on_pressure(4, [&] { ++signals; });
  add(2);  // 3 nodes with the root
  EXPECT_EQ(signals, 0);
  add(2);  // 4, then 5
  EXPECT_EQ(signals, 2);
  // A second lookup of a known inode adds no node and no signal.
  ASSERT_TRUE(
      table_.remember(InodeKey{7, 1}, NodeType::kRegular, any_handle(), NodeTable::kRootId, "f1"));
  EXPECT_EQ(signals, 2);
}

}  // namespace
}  // namespace confinefs
