// BACKING as a mount of its own (cmd/backing_mount.h): as root the daemon binds BACKING onto
// itself, so no outside name can be hardlinked or renamed into it by path (EXDEV); the bind stays
// for the next daemon, a mount root is used as it is, and backing_mount=require refuses to start
// where it cannot be made.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/deploy/daemon.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

// How many mounts sit exactly at path.
long mounts_at(const fs::path& path) {
  return std::ranges::count(mounts_under(path), path.string());
}

bool is_mount_root(const fs::path& path) {
  struct statx stx {};
  return ::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) == 0 &&
         (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

int link_errno(const fs::path& from, const fs::path& to) {
  return ::link(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

int rename_errno(const fs::path& from, const fs::path& to) {
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

class BackingMount : public DaemonTest {
 protected:
  std::string status() { return capture({confinefs_binary(), "status", mnt_.string()}).second; }
};

TEST_F(BackingMount, NothingIsLinkedOrRenamedInOrOutByPath) {
  write_file(outside_ / "canary", "CANARY");
  write_file(outside_ / "moved-in", "x");
  ASSERT_FALSE(is_mount_root(backing_));
  Daemon d(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  write_file(backing_ / "inside", "inside");
  EXPECT_TRUE(is_mount_root(backing_));
  EXPECT_EQ(link_errno(outside_ / "canary", backing_ / "results.json"), EXDEV);
  EXPECT_EQ(rename_errno(outside_ / "moved-in", backing_ / "moved-in"), EXDEV);
  EXPECT_EQ(rename_errno(backing_ / "inside", outside_ / "inside"), EXDEV);
  // Links inside BACKING are still the host's to make.
  EXPECT_EQ(link_errno(backing_ / "inside", backing_ / "inside2"), 0);
  EXPECT_NE(status().find("backing_mount=bound\n"), std::string::npos) << status();
}

TEST_F(BackingMount, OffLeavesBackingAsItIs) {
  write_file(outside_ / "canary", "CANARY");
  Daemon d(args({"-o", "backing_mount=off"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_FALSE(is_mount_root(backing_));
  EXPECT_EQ(link_errno(outside_ / "canary", backing_ / "results.json"), 0);
  EXPECT_NE(status().find("backing_mount=none\n"), std::string::npos) << status();
}

TEST_F(BackingMount, StaysForTheNextDaemonWhichAddsNone) {
  for (int round = 0; round < 2; ++round) {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    EXPECT_EQ(mounts_at(backing_), 1L);
    EXPECT_NE(status().find(round == 0 ? "backing_mount=bound\n" : "backing_mount=own\n"),
              std::string::npos)
        << status();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    ASSERT_TRUE(wait_mounted(mnt_, false));
    // Restarts and crashes open no window: the bind outlives the daemon.
    EXPECT_TRUE(is_mount_root(backing_));
  }
}

TEST_F(BackingMount, RequireRefusesToStartWhereItCannotBeMade) {
  ASSERT_EQ(::chmod(tree_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(backing_.c_str(), 0777), 0);
  // Not root: no bind, so require must refuse (exit 2) before anything is mounted.
  auto argv = std::vector<std::string>{"setpriv", "--reuid=65534", "--regid=65534",
                                       "--clear-groups", confinefs_binary()};
  for (auto& a : args({"-o", "backing_mount=require"})) argv.push_back(a);
  auto [rc, out] = capture(argv);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_FALSE(is_mounted(mnt_));
  EXPECT_FALSE(is_mount_root(backing_));
}

}  // namespace
}  // namespace confinefs::testing
