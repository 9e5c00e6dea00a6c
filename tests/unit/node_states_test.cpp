// The node state machine (nodes/node.h, nodes/node_table.h): a predecessor's node joins the table
// recorded; a lookup of its very inode and type serves it under its id; anything else leaves it
// recorded until it is dropped or forgotten. A recorded node is never handed to a request, yet
// keeps its place and floor for link containment. The observer (nodes/node_observer.h) hears of
// every change, in order, never of the root.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fusefs/nodes/node_table.h"

namespace confinefs {
namespace {

Fd any_handle() { return Fd(::open("/", O_PATH | O_CLOEXEC)); }

// What the table told its observer, as a node journal would keep it.
struct Seen {
  std::map<uint64_t, NodePlace> kept;  // id -> place, as last told
  std::vector<uint64_t> released;
  uint64_t next_id = 0;
  size_t room = 1000;
};

class Recording final : public NodeObserver {
 public:
  explicit Recording(Seen& seen) : seen_(seen) {}
  bool has_room() const noexcept override { return seen_.kept.size() < seen_.room; }
  void changed(const Node& node) noexcept override { seen_.kept[node.id()] = node.place(); }
  void released(const Node& node) noexcept override {
    seen_.kept.erase(node.id());
    seen_.released.push_back(node.id());
  }
  void ids_below(uint64_t next_id) noexcept override {
    EXPECT_GE(next_id, seen_.next_id) << "ids only grow";
    seen_.next_id = next_id;
  }

 private:
  Seen& seen_;
};

constexpr uint64_t kRoot = NodeTable::kRootId;
constexpr InodeKey kDir{7, 10}, kFile{7, 11};

std::shared_ptr<Node> recorded(uint64_t id, InodeKey key, NodeType type, uint64_t parent,
                               std::string name, unsigned floor = 0) {
  return std::make_shared<Node>(id, key, type, NodePlace{parent, std::move(name), {parent}, floor});
}

class NodeStates : public ::testing::Test {
 protected:
  // The predecessor held dir (id 40, in the root) and file (id 41, in dir), and handed out ids
  // up to 49.
  void SetUp() override {
    Predecessor before{{recorded(40, kDir, NodeType::kDirectory, kRoot, "dir", 2),
                        recorded(41, kFile, NodeType::kRegular, 40, "file")},
                       50};
    table_.observe(std::make_unique<Recording>(seen_), std::move(before));
  }
  Result<NodeRef> look_up(InodeKey key, NodeType type, uint64_t parent, const char* name) {
    return table_.remember(key, type, any_handle(), parent, name, 0);
  }

  Seen seen_;
  NodeTable table_{InodeKey{7, 1}, any_handle(), 100};
};

TEST_F(NodeStates, ARecordedNodeIsNeverHandedToARequest) {
  EXPECT_EQ(table_.get(40), nullptr);
  EXPECT_EQ(table_.find(kDir, NodeType::kDirectory), nullptr);
  EXPECT_TRUE(table_.find_all(kDir).empty());
  EXPECT_EQ(table_.at(kRoot, "dir"), nullptr);
  EXPECT_EQ(table_.chain(41, 10).code(), ENOENT);
  EXPECT_EQ(table_.location(40).first, 0u);
  EXPECT_TRUE(table_.sweep(10).empty());
  EXPECT_EQ(table_.size(), 1u) << "the root alone is served";
  EXPECT_EQ(table_.recorded_count(), 2u);
  auto at = table_.recorded_at(41);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->first, 40u);
  EXPECT_EQ(at->second, "file");
}

TEST_F(NodeStates, ALookupOfItsInodeAndTypeServesItUnderItsId) {
  auto dir = look_up(kDir, NodeType::kDirectory, kRoot, "dir");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir.value()->id(), 40u);
  EXPECT_TRUE(dir.value()->served());
  EXPECT_EQ(table_.get(40), dir.value());
  EXPECT_EQ(table_.at(kRoot, "dir"), dir.value());
  EXPECT_FALSE(table_.recorded_at(40));
  EXPECT_EQ(table_.recorded_count(), 1u);
  EXPECT_EQ(table_.depth(40), 1u);
  EXPECT_EQ(table_.admit_move(40, 999999).code(), EXDEV) << "its floor 2 came with it";
}

TEST_F(NodeStates, AnotherTypeOfTheSameInodeIsANewNode) {
  auto file = look_up(kFile, NodeType::kFifo, kRoot, "file");
  ASSERT_TRUE(file);
  EXPECT_GE(file.value()->id(), 50u) << "new ids continue above the predecessor's";
  EXPECT_EQ(table_.recorded_count(), 2u) << "the record stays, for its own type";
}

TEST_F(NodeStates, ARecordedNodeIsDroppedOrForgottenWhole) {
  table_.drop_recorded(41);
  EXPECT_FALSE(table_.recorded_at(41));
  EXPECT_EQ(seen_.released, std::vector<uint64_t>{41});
  table_.forget(40, 1);
  EXPECT_EQ(table_.recorded_count(), 0u);
  EXPECT_EQ(seen_.released, (std::vector<uint64_t>{41, 40}));
  auto again = look_up(kDir, NodeType::kDirectory, kRoot, "dir");
  ASSERT_TRUE(again);
  EXPECT_GE(again.value()->id(), 50u) << "a dropped id is never served again";
}

TEST_F(NodeStates, AServedRecordIsForgottenWithItsWholeCount) {
  ASSERT_TRUE(look_up(kDir, NodeType::kDirectory, kRoot, "dir"));
  ASSERT_TRUE(look_up(kDir, NodeType::kDirectory, kRoot, "dir"));
  // The kernel sends its one FORGET with a count this daemon cannot know.
  table_.forget(40, 1);
  EXPECT_EQ(table_.get(40), nullptr);
}

TEST_F(NodeStates, ARecordFollowsARenameAndTheObserverHearsIt) {
  auto other = look_up(InodeKey{7, 12}, NodeType::kDirectory, kRoot, "other");
  ASSERT_TRUE(other);
  uint64_t to = other.value()->id();
  ASSERT_TRUE(table_.admit_move(41, to));
  table_.moved(kFile, to, "renamed");
  auto at = table_.recorded_at(41);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, std::make_pair(to, std::string("renamed")));
  EXPECT_EQ(seen_.kept.at(41).name, "renamed");
  EXPECT_EQ(seen_.kept.at(41).parents, (std::vector<uint64_t>{40, to}));
}

TEST_F(NodeStates, TheObserverHearsEveryChangeButNeverTheRoot) {
  auto a = look_up(InodeKey{7, 20}, NodeType::kDirectory, kRoot, "a");
  ASSERT_TRUE(a);
  uint64_t id = a.value()->id();
  EXPECT_EQ(seen_.kept.at(id).name, "a");
  EXPECT_EQ(seen_.next_id, id + 1);
  auto b = look_up(InodeKey{7, 21}, NodeType::kRegular, id, "b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(table_.serve_link(b.value()->id(), 0));
  EXPECT_EQ(seen_.kept.at(id).depth_floor, 0u);
  EXPECT_EQ(seen_.kept.at(b.value()->id()).depth_floor, 1u) << "a raised floor is kept";
  table_.forget(b.value()->id(), 1);
  EXPECT_FALSE(seen_.kept.contains(b.value()->id()));
  EXPECT_FALSE(seen_.kept.contains(kRoot));
}

TEST_F(NodeStates, ANewNodeTheObserverCannotKeepIsRefused) {
  seen_.room = seen_.kept.size();
  EXPECT_EQ(look_up(InodeKey{7, 30}, NodeType::kRegular, kRoot, "x").code(), ENFILE);
  EXPECT_TRUE(look_up(kDir, NodeType::kDirectory, kRoot, "dir"))
      << "serving a record needs no room: it has its place already";
}

TEST(NodeStatesAdopt, RecordsNoIdCanBeServedFromAreReleased) {
  Seen seen;
  NodeTable table{InodeKey{7, 1}, any_handle(), 100};
  Predecessor before{{recorded(kRoot, InodeKey{7, 2}, NodeType::kDirectory, 0, "root"),
                      recorded(40, kDir, NodeType::kDirectory, kRoot, "dir"),
                      recorded(41, kDir, NodeType::kDirectory, kRoot, "same inode and type"),
                      recorded(42, InodeKey{7, 1}, NodeType::kDirectory, kRoot, "the root's")},
                     0};
  table.observe(std::make_unique<Recording>(seen), std::move(before));
  EXPECT_EQ(table.recorded_count(), 1u);
  EXPECT_EQ(seen.released, (std::vector<uint64_t>{kRoot, 41, 42}));
  EXPECT_EQ(seen.next_id, 43u) << "above every recorded id, released or not";
}

}  // namespace
}  // namespace confinefs
