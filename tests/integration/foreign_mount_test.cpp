// A hung foreign filesystem inside BACKING (threat 24): an outside process mounts a FUSE
// filesystem on a directory in BACKING and stops its server. No daemon thread may enter it: a
// request naming the mount point (a rename onto it, a stat of its name) is answered from BACKING's
// side of the mount, and unrelated requests in the same directory keep being answered.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

// errno of stat(p) in a child process, or -1 when no answer came within timeout_ms (the child
// is left blocked in the filesystem and killed once it answers).
int stat_errno_within(const fs::path& p, int timeout_ms) {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct stat st {};
    _exit(::stat(p.c_str(), &st) == 0 ? 0 : errno);
  }
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  return -1;
}

TEST(ForeignMount, AStoppedFuseServerInsideBackingNeverWedgesTheDaemon) {
  Mount m;
  ASSERT_TRUE(m.ok());
  fs::create_directories(m.backing() / "mp");
  write_file(m.backing() / "f", "mine");
  write_file(m.backing() / "other", "other");
  // The foreign filesystem: another FUSE daemon (cache=strict: every stat asks its server),
  // bound onto BACKING/mp on the mount the daemon under test serves from.
  Mount foreign({"-o", "cache=strict"});
  ASSERT_TRUE(foreign.ok());
  auto point = m.path_before("mp");
  ASSERT_EQ(::mount(foreign.mnt().c_str(), point.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_TRUE(foreign.signal_daemon(SIGSTOP));

  // A rename onto the mount point's name, from a child (it may block if the daemon enters).
  pid_t renamer = ::fork();
  if (renamer == 0) {
    _exit(::rename((m.mnt() / "f").c_str(), (m.mnt() / "mp").c_str()) == 0 ? 0 : errno);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int other = stat_errno_within(m.mnt() / "other", 3000);
  int mp = stat_errno_within(m.mnt() / "mp", 3000);
  int renamed = -1;
  for (int i = 0; i < 300 && renamed == -1; ++i) {
    int status = 0;
    if (::waitpid(renamer, &status, WNOHANG) == renamer) renamed = WEXITSTATUS(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  foreign.signal_daemon(SIGCONT);
  if (renamed == -1) ::waitpid(renamer, nullptr, 0);
  ::umount2(point.c_str(), MNT_DETACH);
  EXPECT_EQ(other, 0) << "an unrelated stat got no answer while the foreign server was stopped";
  EXPECT_EQ(mp, ENOENT) << "the mount point is never shown";
  EXPECT_NE(renamed, -1) << "the rename onto the mount point got no answer within 3 s";
  EXPECT_EQ(read_file(m.backing() / "f"), "mine");
}

}  // namespace
}  // namespace confinefs::testing
