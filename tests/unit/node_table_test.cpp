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

namespace confinefs {
namespace {

// Link containment in the node table: depth over every parent the kernel may hold a node under,
// and the floors served links leave above them.
class NodeTableDepth : public ::testing::Test {
 protected:
  uint64_t add(uint64_t parent, const std::string& name, NodeType type = NodeType::kDirectory) {
    auto node = table_.remember(InodeKey{7, next_ino_++}, type, any_handle(), parent, name);
    EXPECT_TRUE(node);
    return node ? node.value()->id() : 0;
  }
  // A chain /d1/d2/.../dn; returns the ids, root first.
  std::vector<uint64_t> chain(int n) {
    std::vector<uint64_t> ids{NodeTable::kRootId};
    for (int i = 1; i <= n; ++i) ids.push_back(add(ids.back(), "d" + std::to_string(i)));
    return ids;
  }
  NodeTable table_{InodeKey{7, 1000000}, any_handle(), 1000};
  ino_t next_ino_ = 1;
};

TEST_F(NodeTableDepth, ALinkIsServedOnlyWhileItsClimbStaysBelowTheRoot) {
  auto d = chain(2);                                   // /d1/d2
  uint64_t link = add(d[2], "l", NodeType::kSymlink);  // /d1/d2/l: depth 3
  EXPECT_EQ(table_.depth(link), 3u);
  EXPECT_TRUE(table_.serve_link(link, 2).ok());  // ../../x ends at the root
  auto out = table_.serve_link(link, 3);         // ../../../x: one above it
  EXPECT_EQ(out.code(), EACCES);
  EXPECT_EQ(out.error().refusal, Refusal::kLinkEscape);
}

TEST_F(NodeTableDepth, ADirectoryAboveAServedLinkCannotMoveWhereTheLinkWouldClimbOut) {
  auto d = chain(3);  // /d1/d2/d3
  uint64_t link = add(d[3], "l", NodeType::kSymlink);
  ASSERT_TRUE(table_.serve_link(link, 3).ok());  // ../../../x from /d1/d2/d3
  // d3 to the root would put the link at depth 2: refused before any host rename.
  EXPECT_EQ(table_.admit_move(d[3], NodeTable::kRootId).code(), EXDEV);
  EXPECT_EQ(table_.admit_move(d[2], NodeTable::kRootId).code(), EXDEV);
  EXPECT_EQ(table_.admit_move(link, d[1]).code(), EXDEV);
  // Deeper, or as deep, is fine.
  uint64_t other = add(d[2], "other");  // /d1/d2/other
  EXPECT_TRUE(table_.admit_move(d[3], other).ok());
  // The earlier parent still counts (the kernel may not have moved its entry yet), so the
  // depth is still the shallower one, and the floor now holds on both ways up.
  EXPECT_EQ(table_.depth(link), 4u);
  EXPECT_EQ(table_.admit_move(other, NodeTable::kRootId).code(), EXDEV);
}

TEST_F(NodeTableDepth, ALinkNotServedYetMovesFreelyAndIsJudgedWhereItIs) {
  auto d = chain(3);
  uint64_t link = add(d[3], "l", NodeType::kSymlink);
  EXPECT_TRUE(table_.admit_move(d[3], NodeTable::kRootId).ok());
  table_.moved(InodeKey{7, 3}, NodeTable::kRootId, "d3");  // d3 is the third node made
  // Either way up is now possible for the kernel: the shallower one decides.
  EXPECT_EQ(table_.depth(link), 2u);
  EXPECT_EQ(table_.serve_link(link, 3).code(), EACCES);
  EXPECT_TRUE(table_.serve_link(link, 1).ok());
}

TEST_F(NodeTableDepth, ALookupThatFindsAServedDirectoryHigherUpIsRefused) {
  auto d = chain(3);
  uint64_t link = add(d[3], "l", NodeType::kSymlink);
  ASSERT_TRUE(table_.serve_link(link, 3).ok());
  // An outside rename put d3 (ino 3) right under the root; a lookup finds it there.
  auto found =
      table_.remember(InodeKey{7, 3}, NodeType::kDirectory, any_handle(), NodeTable::kRootId, "d3");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.code(), ENOENT);
  EXPECT_EQ(found.error().refusal, Refusal::kLinkEscape);
  // Found as deep as before, it is the same node.
  auto deeper = table_.remember(InodeKey{7, 3}, NodeType::kDirectory, any_handle(), d[2], "x");
  EXPECT_TRUE(deeper.ok());
}

TEST_F(NodeTableDepth, AParentTheKernelForgotNoLongerCounts) {
  auto d = chain(1);                          // /d1
  uint64_t a = add(d[1], "a");                // /d1/a
  uint64_t b = add(NodeTable::kRootId, "b");  // /b
  uint64_t moving = add(a, "m");              // /d1/a/m
  ASSERT_TRUE(table_.admit_move(moving, b).ok());
  table_.moved(InodeKey{7, 4}, b, "m");  // /b/m now; /d1/a/m may still be cached
  uint64_t link = add(moving, "l", NodeType::kSymlink);
  EXPECT_EQ(table_.depth(link), 3u);  // /b/m/l
  table_.forget(a, 1);                // the kernel dropped /d1/a: nothing beneath it
  EXPECT_EQ(table_.depth(link), 3u);
  EXPECT_TRUE(table_.serve_link(link, 2).ok());
}

TEST_F(NodeTableDepth, ANodeWithTooManyParentsCountsAsDepthZero) {
  auto d = chain(1);
  uint64_t file = add(d[1], "f", NodeType::kRegular);
  for (int i = 0; i < 20; ++i) {
    uint64_t dir = add(d[1], "p" + std::to_string(i));
    ASSERT_TRUE(table_.admit_move(file, dir).ok());
  }
  EXPECT_EQ(table_.depth(file), 0u);
  EXPECT_EQ(table_.serve_link(file, 0).code(), EACCES);
}

TEST_F(NodeTableDepth, TheNodeAtANameIsTheOneLastLearntThere) {
  uint64_t a = add(NodeTable::kRootId, "n", NodeType::kRegular);
  EXPECT_EQ(table_.at(NodeTable::kRootId, "n")->id(), a);
  uint64_t b = add(NodeTable::kRootId, "n", NodeType::kRegular);  // replaced outside
  EXPECT_EQ(table_.at(NodeTable::kRootId, "n")->id(), b);
  table_.forget(b, 1);
  EXPECT_EQ(table_.at(NodeTable::kRootId, "n"), nullptr);
  EXPECT_EQ(table_.at(NodeTable::kRootId, "missing"), nullptr);
}

// Threat 44: one user of an allow_other mount pinning nodes (O_PATH fds the reclaimer cannot
// evict) fills the table; only that user is refused (the previous build: ENFILE for everyone).
TEST(NodeTableBudget, ACallerHoldingHalfTheFullTableIsRefusedAlone) {
  NodeTable table{InodeKey{7, 1000000}, any_handle(), /*max_nodes=*/8};
  auto make = [&](ino_t ino, uid_t caller) {
    return table.remember(InodeKey{7, ino}, NodeType::kRegular, any_handle(), NodeTable::kRootId,
                          "f" + std::to_string(ino), caller);
  };
  for (ino_t i = 1; i <= 7; ++i) ASSERT_TRUE(make(i, 1000)) << i;  // 8 with the root: full
  EXPECT_EQ(make(8, 1000).code(), ENFILE);
  // Another user still gets nodes, from the reserve (a quarter of max_nodes).
  ASSERT_TRUE(make(9, 2000));
  ASSERT_TRUE(make(10, 2000));
  EXPECT_EQ(make(11, 2000).code(), ENFILE) << "the reserve is bounded too";
  // A known inode is no new node: found again for anyone.
  EXPECT_TRUE(make(3, 2000));
  EXPECT_EQ(table.size(), 10u);
}

}  // namespace
}  // namespace confinefs
