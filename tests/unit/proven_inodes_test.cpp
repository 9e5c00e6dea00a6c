// Inodes proven to have had one name only (fusefs/nodes/proven_inodes.h), kept past their nodes,
// and the flags a file handle's number carries (fusefs/fuse/handles.h).
#include "fusefs/nodes/proven_inodes.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "fusefs/fuse/handles.h"

namespace confinefs {
namespace {

TEST(ProvenInodesTest, BoundedDroppingTheOldestHalf) {
  ProvenInodes proven(4);
  for (int i = 0; i < 4; ++i) proven.insert("h" + std::to_string(i));
  EXPECT_TRUE(proven.contains("h0"));
  proven.insert("h4");  // over capacity: the two oldest go
  EXPECT_FALSE(proven.contains("h0"));
  EXPECT_FALSE(proven.contains("h1"));
  EXPECT_TRUE(proven.contains("h2"));
  EXPECT_TRUE(proven.contains("h4"));
  proven.insert("h4");  // already there: nothing changes
  EXPECT_TRUE(proven.contains("h3"));
}

TEST(HandleNumberTest, CarriesTheFlagsAReopenNeeds) {
  using fuse::HandleNumber;
  for (int flags : {O_RDONLY, O_WRONLY, O_RDWR, O_WRONLY | O_APPEND, O_RDWR | O_DIRECT,
                    O_WRONLY | O_SYNC, O_RDWR | O_DSYNC | O_APPEND}) {
    uint64_t fh = (uint64_t{7} << 40) | HandleNumber::kTagged | (uint64_t{12345} << 6) |
                  HandleNumber::tag_of(flags | O_CREAT | O_TRUNC | O_CLOEXEC);
    EXPECT_TRUE(HandleNumber::tagged(fh));
    EXPECT_EQ(HandleNumber::flags_of(fh), flags) << flags;
  }
  EXPECT_FALSE(HandleNumber::tagged(uint64_t{7} << 40 | 99));  // an older daemon's number
}

}  // namespace
}  // namespace confinefs
