// BACKING as a mount of its own (cmd/backing_mount.h): as root the daemon binds BACKING onto
// itself, so no outside name can be hardlinked or renamed into it by path (EXDEV); a daemon that
// stops for good removes the bind it made (and only that one, and not while another daemon
// serves BACKING), a mount root is used as it is, views of BACKING older than the bind are named
// (cmd/older_views.h), and backing_mount=require refuses to start where it cannot be made or
// while such views remain.
#include <fcntl.h>
#include <signal.h>
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
  backing_before_.reset();  // no view older than the bind: "bound", not "exposed"
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

// A daemon that stops for good (no resume=on) removes the bind it made, so binds never pile up on
// BACKING (the previous build left one per run); while another daemon serves the same BACKING
// (another tenant of the directory, here a second mount) the bind stays for it.
TEST_F(BackingMount, AStopForGoodRemovesTheBindItMadeOnceNoDaemonServesBacking) {
  backing_before_.reset();
  fs::path second = tree_.path() / "mnt2";
  fs::create_directories(second);
  {
    Daemon first(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << first.log();
    EXPECT_NE(status().find("backing_mount=bound\n"), std::string::npos) << status();
    Daemon other({"-f", backing_.string(), second.string()});
    ASSERT_TRUE(wait_mounted(second)) << other.log();
    EXPECT_EQ(mounts_at(backing_), 1L);
    first.signal(SIGTERM);
    EXPECT_EQ(first.wait_exit(), 0) << first.log();
    ASSERT_TRUE(wait_mounted(mnt_, false));
    EXPECT_TRUE(is_mount_root(backing_)) << "removed while another daemon serves BACKING";
    write_file(second / "still", "served");
    other.signal(SIGTERM);
    EXPECT_EQ(other.wait_exit(), 0) << other.log();
    force_unmount(second);
  }
  // The other daemon did not make the bind: it leaves it. The first one's record removed it?
  // No: the first stopped while the other held BACKING, so the bind is still there, and nobody
  // serving BACKING now removes it (a daemon removes only what it made).
  EXPECT_TRUE(is_mount_root(backing_));
  ASSERT_EQ(::umount2(backing_.c_str(), MNT_DETACH), 0);
  // Alone, the daemon that made it removes it at its stop: exactly that mount.
  for (int round = 0; round < 2; ++round) {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    EXPECT_EQ(mounts_at(backing_), 1L);
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    ASSERT_TRUE(wait_mounted(mnt_, false));
    EXPECT_EQ(mounts_at(backing_), 0L) << "round " << round;
  }
}

// A bind the daemon did not make (an operator's, as in /etc/fstab) is used as it is and stays.
TEST_F(BackingMount, ABindItDidNotMakeStays) {
  backing_before_.reset();
  ASSERT_EQ(::mount(backing_.c_str(), backing_.c_str(), nullptr, MS_BIND, nullptr), 0);
  {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    EXPECT_NE(status().find("backing_mount=own\n"), std::string::npos) << status();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
  }
  EXPECT_EQ(mounts_at(backing_), 1L);
  ASSERT_EQ(::umount2(backing_.c_str(), MNT_DETACH), 0);
}

// Threat 42: views of BACKING older than the bind (a directory fd this test process opened
// before the daemon started, a process whose working directory is BACKING) are named in the log
// and in status; backing_mount=require refuses to start while they remain, and leaves no bind.
TEST_F(BackingMount, ViewsOlderThanTheBindAreNamedAndRequireRefusesThem) {
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    if (::chdir(backing_.c_str()) != 0) _exit(1);
    ::pause();
    _exit(0);
  }
  {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    EXPECT_NE(status().find("backing_mount=exposed\n"), std::string::npos) << status();
    std::string log = d.log();
    EXPECT_NE(log.find("pid " + std::to_string(holder) + " "), std::string::npos) << log;
    EXPECT_NE(log.find("): cwd"), std::string::npos) << log;
    EXPECT_NE(log.find("): fd " + std::to_string(backing_before_.get())), std::string::npos) << log;
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
  }
  EXPECT_EQ(mounts_at(backing_), 0L);
  {
    Daemon refused(args({"-o", "backing_mount=require"}));
    EXPECT_EQ(refused.wait_exit(), 2) << refused.log();
    EXPECT_NE(refused.log().find("older than its mount"), std::string::npos) << refused.log();
  }
  EXPECT_FALSE(is_mounted(mnt_));
  EXPECT_EQ(mounts_at(backing_), 0L) << "require left its bind behind";
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  // Once they are gone, require starts.
  backing_before_.reset();
  Daemon d(args({"-o", "backing_mount=require"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_NE(status().find("backing_mount=bound\n"), std::string::npos) << status();
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
