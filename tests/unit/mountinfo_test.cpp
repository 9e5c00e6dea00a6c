// mountinfo lines as the kernel writes them, including the escapes for awkward mount points.
#include "fusefs/sys/mountinfo.h"

#include <sys/sysmacros.h>

#include <gtest/gtest.h>

namespace confinefs::sys {
namespace {

TEST(MountInfo, ParsesFieldsAroundOptionalOnesAndUnescapes) {
  auto e = parse_mountinfo_line(
      "36 35 98:0 /mnt1 /srv/a\\040b\\134c rw,noatime master:1 shared:2 - ext3 /dev/root rw");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 36u);
  EXPECT_EQ(e->mount_point, "/srv/a b\\c");
  EXPECT_EQ(e->root, "/mnt1");
  EXPECT_EQ(major(e->device), 98u);
  EXPECT_EQ(minor(e->device), 0u);
  EXPECT_EQ(e->fstype, "ext3");
  EXPECT_EQ(e->source, "/dev/root");
  auto plain = parse_mountinfo_line("1 0 0:1 / / rw - tmpfs none rw");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->mount_point, "/");
}

TEST(MountInfo, RefusesTruncatedLines) {
  EXPECT_FALSE(parse_mountinfo_line(""));
  EXPECT_FALSE(parse_mountinfo_line("36 35 98:0 /mnt1 /mnt2 rw"));
  EXPECT_FALSE(parse_mountinfo_line("36 35 98:0 /mnt1 /mnt2 rw - ext3"));
  EXPECT_FALSE(parse_mountinfo_line("x 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw"));
}

}  // namespace
}  // namespace confinefs::sys
