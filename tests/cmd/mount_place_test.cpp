// MOUNTPOINT named once (cmd/mount_place.h), the start-up checks on it (cmd/mountpoint.h) and
// what a mount there is (cmd/stale_mount.h), on real directories and real mounts (root).
#include "cmd/mount_place.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "cmd/mountpoint.h"
#include "cmd/stale_mount.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::cmd {
namespace {

using testing::TempTree;
namespace fs = std::filesystem;

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

TEST(MountPlace, NamesTheParentOnceAndTheLastComponentAsGiven) {
  TempTree t;
  fs::create_directories(t.path() / "a/m");
  auto place = MountPlace::open((t.path() / "a/m///").string());
  ASSERT_TRUE(place.ok()) << place.error().message;
  EXPECT_EQ(place->canonical(), (fs::canonical(t.path()) / "a/m").string());
  // The parent is held: renamed, the place follows it; a new directory at the old path is
  // not the place.
  fs::rename(t.path() / "a", t.path() / "b");
  fs::create_directories(t.path() / "a/m");
  auto top = place->open_top();
  ASSERT_TRUE(top.ok());
  struct stat held {};
  ASSERT_EQ(::fstat(top->get(), &held), 0);
  EXPECT_EQ(held.st_ino, stat_of(t.path() / "b/m").st_ino);
  EXPECT_NE(held.st_ino, stat_of(t.path() / "a/m").st_ino);
}

TEST(MountPlace, ASymlinkAsTheLastComponentIsNeverFollowed) {
  TempTree t;
  fs::create_directories(t.path() / "real");
  fs::create_directory_symlink(t.path() / "real", t.path() / "link");
  auto place = MountPlace::open((t.path() / "link/").string());
  ASSERT_TRUE(place.ok());
  EXPECT_EQ(place->open_top().code(), ELOOP);
  struct stat backing = stat_of(t.path());
  auto checked = check_mountpoint(place.value(), backing);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().exit, Exit::kUsage);
  EXPECT_NE(checked.error().message.find("symbolic link"), std::string::npos)
      << checked.error().message;
}

TEST(MountPlace, ASymlinkAnywhereOnThePathIsNeverFollowed) {
  TempTree t;
  fs::create_directories(t.path() / "real/m");
  fs::create_directory_symlink(t.path() / "real", t.path() / "link");
  auto place = MountPlace::open((t.path() / "link/m").string());
  ASSERT_FALSE(place.ok());
  EXPECT_NE(place.error().message.find("symbolic link"), std::string::npos)
      << place.error().message;
  EXPECT_TRUE(MountPlace::open((t.path() / "real/./x/../m").string()).ok());
}

// Threat 43: a tenant that owns a directory above its mountpoint can swap what the path names
// between a root-run step's checks and its action; as root such a path is refused outright.
TEST(MountPlace, AsRootDirectoriesAnotherUserCanChangeAreRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "the check applies to root";
  TempTree t;
  auto make = [&](const char* dir, uid_t owner, mode_t mode, uid_t entry_owner) {
    fs::create_directories(t.path() / dir / "m");
    ASSERT_EQ(::chown((t.path() / dir).c_str(), owner, 0), 0);
    ASSERT_EQ(::chmod((t.path() / dir).c_str(), mode), 0);
    ASSERT_EQ(::chown((t.path() / dir / "m").c_str(), entry_owner, 0), 0);
  };
  make("tenant-owned", 12345, 0755, 12345);
  make("world-writable", 0, 0777, 0);
  make("group-writable", 0, 0775, 0);
  make("sticky-tenant-entry", 0, 01777, 12345);
  make("sticky-root-entry", 0, 01777, 0);
  make("root-only", 0, 0755, 12345);
  for (const char* refused :
       {"tenant-owned", "world-writable", "group-writable", "sticky-tenant-entry"}) {
    auto place = MountPlace::open((t.path() / refused / "m").string());
    ASSERT_FALSE(place.ok()) << refused;
    EXPECT_NE(place.error().message.find("another user than root"), std::string::npos)
        << place.error().message;
  }
  // A tenant-owned mountpoint in a directory only root changes is the usual layout.
  for (const char* fine : {"sticky-root-entry", "root-only"}) {
    auto place = MountPlace::open((t.path() / fine / "m").string());
    EXPECT_TRUE(place.ok()) << fine << ": " << place.error().message;
  }
  // Deeper: a tenant-owned directory anywhere above is refused too.
  fs::create_directories(t.path() / "tenant-owned/deeper/m");
  EXPECT_FALSE(MountPlace::open((t.path() / "tenant-owned/deeper/m").string()).ok());
}

TEST(MountPlace, DevFdFormHasNoPlace) {
  EXPECT_FALSE(MountPlace::open("/dev/fd/3").ok());
  EXPECT_FALSE(MountPlace::open("").ok());
  EXPECT_FALSE(MountPlace::open("/").ok());
}

TEST(CheckMountpoint, BackingItselfOrInsideItIsRefused) {
  TempTree t;
  fs::create_directories(t.path() / "b/deep/m");
  fs::create_directories(t.path() / "m");
  struct stat backing = stat_of(t.path() / "b");
  for (const auto& inside : {t.path() / "b", t.path() / "b/deep/m"}) {
    auto place = MountPlace::open(inside.string());
    ASSERT_TRUE(place.ok());
    auto checked = check_mountpoint(place.value(), backing);
    ASSERT_FALSE(checked.ok()) << inside;
    EXPECT_NE(checked.error().message.find("BACKING"), std::string::npos) << inside;
  }
  auto outside = MountPlace::open((t.path() / "m").string());
  ASSERT_TRUE(outside.ok());
  auto checked = check_mountpoint(outside.value(), backing);
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  EXPECT_TRUE(checked->valid());
}

TEST(ProbeMountpoint, FreeDirectoryAndAnotherFilesystem) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounts need root";
  TempTree t;
  fs::create_directories(t.path() / "m");
  auto place = MountPlace::open((t.path() / "m").string());
  ASSERT_TRUE(place.ok());
  EXPECT_EQ(probe_mountpoint(place.value()).state, MountState::kFree);
  EXPECT_TRUE(clear_stale_mount(place.value()).ok());
  ASSERT_EQ(::mount("probe-tmpfs", (t.path() / "m").c_str(), "tmpfs", 0, nullptr), 0);
  MountProbe probe = probe_mountpoint(place.value());
  EXPECT_EQ(probe.state, MountState::kOther);
  EXPECT_EQ(probe.entry.fstype, "tmpfs");
  auto refused = clear_stale_mount(place.value());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().exit, Exit::kUsage);
  EXPECT_NE(refused.error().message.find("another filesystem"), std::string::npos);
  // Not a confinefs mount: never unmounted by the identity-checked unmount either.
  EXPECT_EQ(unmount_if(place.value(), MountIdentity{}).code(), ENOENT);
  EXPECT_EQ(mount_identity_at(place.value()), MountIdentity{});
  ASSERT_EQ(::umount2((t.path() / "m").c_str(), MNT_DETACH), 0);
}

}  // namespace
}  // namespace confinefs::cmd
