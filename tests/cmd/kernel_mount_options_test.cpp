// The mount option words confinefs turns into fsconfig flags and mount attributes itself (as
// root, with the new mount API): nosuid and nodev whatever the words say, and nullopt for a word
// only libfuse implements, so that libfuse mounts instead.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "cmd/kernel_mount.h"

namespace confinefs::cmd {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(KernelMountOptions, NosuidAndNodevAlways) {
  auto o = kernel_mount_options({});
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->mount_attrs & (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV),
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_EQ(o->source, "confinefs");
}

TEST(KernelMountOptions, WordsBecomeFlagsAndAttributes) {
  auto o = kernel_mount_options(
      {"allow_other", "default_permissions", "ro", "noexec", "noatime", "fsname=tenant-7"});
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(has(o->fs_flags, "allow_other"));
  EXPECT_TRUE(has(o->fs_flags, "default_permissions"));
  EXPECT_TRUE(has(o->fs_flags, "ro"));
  EXPECT_TRUE(o->mount_attrs & MOUNT_ATTR_RDONLY);
  EXPECT_TRUE(o->mount_attrs & MOUNT_ATTR_NOEXEC);
  EXPECT_EQ(o->mount_attrs & MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME);
  EXPECT_EQ(o->source, "tenant-7");
}

TEST(KernelMountOptions, LaterWordsUndoEarlierOnes) {
  auto o =
      kernel_mount_options({"ro", "rw", "sync", "async", "noexec", "exec", "noatime", "relatime"});
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(has(o->fs_flags, "ro"));
  EXPECT_FALSE(has(o->fs_flags, "sync"));
  EXPECT_FALSE(o->mount_attrs & MOUNT_ATTR_RDONLY);
  EXPECT_FALSE(o->mount_attrs & MOUNT_ATTR_NOEXEC);
  EXPECT_EQ(o->mount_attrs & MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME);
}

TEST(KernelMountOptions, LibfuseOnlyWordsLeaveTheMountToLibfuse) {
  EXPECT_FALSE(kernel_mount_options({"allow_root"}).has_value());
  EXPECT_FALSE(kernel_mount_options({"auto_unmount"}).has_value());
  EXPECT_FALSE(kernel_mount_options({"user_id=0"}).has_value());
  EXPECT_TRUE(kernel_only_option("relatime"));
  EXPECT_FALSE(kernel_only_option("allow_other"));
}

}  // namespace
}  // namespace confinefs::cmd
