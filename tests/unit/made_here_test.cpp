// The record of FIFOs and sockets made through the mount (fusefs/objects/made_here.h): each
// calling uid has a budget of its own (threat 44), and records of files that are gone are
// dropped when a caller runs out.
#include "fusefs/objects/made_here.h"

#include <gtest/gtest.h>

#include <set>

namespace confinefs::objects {
namespace {

InodeKey key(ino_t ino) { return InodeKey{1, ino}; }
const InodeKey kDir{1, 1};

// Fills caller's budget with FIFOs named f<ino>; true when every one was taken.
bool fill(MadeHere& record, uid_t caller, ino_t first, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!record.reserve(caller).ok()) return false;
    ino_t ino = first + static_cast<ino_t>(i);
    record.add(key(ino), NodeType::kFifo, kDir, "f" + std::to_string(ino), false, caller);
  }
  return true;
}

TEST(MadeHereTest, OneCallerOverItsBudgetIsRefusedAlone) {
  MadeHere record(/*max_entries=*/100, /*per_caller=*/10);
  ASSERT_TRUE(fill(record, 1000, 100, 10));
  EXPECT_EQ(record.reserve(1000).code(), ENOSPC);
  // Another user is not affected (the previous record was one pool: all 65,536 places to one).
  ASSERT_TRUE(fill(record, 2000, 200, 10));
  EXPECT_EQ(record.find(key(205), kDir, "f205"), NodeType::kFifo);
  // A removal through the mount gives the place back to its caller.
  record.erase(key(100));
  EXPECT_TRUE(record.reserve(1000).ok());
  record.cancel(1000);
}

TEST(MadeHereTest, TheMountWideBoundStillHolds) {
  MadeHere record(/*max_entries=*/15, /*per_caller=*/10);
  ASSERT_TRUE(fill(record, 1000, 100, 10));
  ASSERT_TRUE(fill(record, 2000, 200, 5));
  EXPECT_EQ(record.reserve(3000).code(), ENOSPC);
}

TEST(MadeHereTest, RecordsOfFilesThatAreGoneAreDroppedAndOnlyThose) {
  MadeHere record(/*max_entries=*/100, /*per_caller=*/10);
  ASSERT_TRUE(fill(record, 1000, 100, 10));
  ASSERT_TRUE(fill(record, 2000, 200, 3));
  std::set<ino_t> asked;
  // An outside process removed the even ones.
  size_t dropped = record.drop_gone(1000, [&](InodeKey object, InodeKey, std::string_view) {
    asked.insert(object.ino);
    return object.ino % 2 == 1;
  });
  EXPECT_EQ(dropped, 5u);
  EXPECT_EQ(asked.size(), 10u) << "only the caller's own records are looked at";
  EXPECT_FALSE(record.find(key(100), kDir, "f100"));
  EXPECT_EQ(record.find(key(101), kDir, "f101"), NodeType::kFifo);
  EXPECT_EQ(record.find(key(200), kDir, "f200"), NodeType::kFifo);
  EXPECT_TRUE(fill(record, 1000, 300, 5));
  EXPECT_EQ(record.reserve(1000).code(), ENOSPC);
}

}  // namespace
}  // namespace confinefs::objects
