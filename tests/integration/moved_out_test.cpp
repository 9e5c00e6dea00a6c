// A directory moved out of BACKING by an outside process (one that held BACKING from before the
// daemon's bind, or reaches the backing filesystem another way) while the sandbox still holds it:
// a cwd, a directory fd, a cached entry. Landlock stops content (opens), but lookups and stats
// are O_PATH opens and statx, which it does not check; the host may later put anything in that
// directory, and none of its names or attributes may show through the mount. No rules: the
// chain check that rules bring is not there to catch it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

// The names getdents64 returns for dirfd from its start (no fstat first, as fdopendir would).
std::set<std::string> listing(int dirfd) {
  std::set<std::string> names;
  if (::lseek(dirfd, 0, SEEK_SET) != 0) return names;
  alignas(8) char buf[8192];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dirfd, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      auto* e = reinterpret_cast<Dirent64*>(buf + at);
      names.insert(e->name);
      at += e->reclen;
    }
  }
  return names;
}

class MovedOut : public ::testing::Test {
 protected:
  // cache=strict: every stat reaches the daemon, as it does once the kernel's timeouts pass.
  Mount m_{{"-o", "cache=strict"}};

  void SetUp() override {
    ASSERT_TRUE(m_.ok());
    fs::create_directories(m_.backing() / "work");
    write_file(m_.backing() / "work/notes.txt", "mine\n");
    dir_ = ::open((m_.mnt() / "work").c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir_, 0);
    struct stat st {};
    ASSERT_EQ(::fstatat(dir_, "notes.txt", &st, 0), 0);
    ASSERT_TRUE(listing(dir_).count("notes.txt"));
    // The outside process moves the directory out; the host then fills it.
    ASSERT_EQ(::rename(m_.path_before("work").c_str(), (m_.outside() / "work").c_str()), 0)
        << std::strerror(errno);
    write_file(m_.outside() / "work/salary-2026.xlsx", "12345678");
    write_file(m_.outside() / "work/notes.txt", "the host's own notes, longer than before\n");
  }
  void TearDown() override {
    if (dir_ >= 0) ::close(dir_);
  }
  int dir_ = -1;
};

TEST_F(MovedOut, NamesPutThereLaterCannotBeLookedUp) {
  struct stat st {};
  errno = 0;
  EXPECT_NE(::fstatat(dir_, "salary-2026.xlsx", &st, 0), 0) << "size " << st.st_size;
  EXPECT_EQ(errno, ESTALE);
}

TEST_F(MovedOut, ItsListingShowsNothingFromOutside) {
  auto names = listing(dir_);
  EXPECT_FALSE(names.count("salary-2026.xlsx"));
}

TEST_F(MovedOut, AttributesOfWhatItHeldAreNotShownAnyMore) {
  struct stat st {};
  errno = 0;
  EXPECT_NE(::fstatat(dir_, "notes.txt", &st, 0), 0) << "size " << st.st_size;
  EXPECT_NE(::fstat(dir_, &st), 0);
  char buf[256];
  EXPECT_LT(::flistxattr(dir_, buf, sizeof buf), 0);
}

TEST_F(MovedOut, WhatStaysInsideIsServedAsBefore) {
  write_file(m_.backing() / "kept.txt", "kept\n");
  EXPECT_EQ(read_file(m_.mnt() / "kept.txt"), "kept\n");
  fs::create_directories(m_.backing() / "a/b");
  write_file(m_.backing() / "a/b/c.txt", "deep\n");
  EXPECT_EQ(read_file(m_.mnt() / "a/b/c.txt"), "deep\n");
  EXPECT_EQ(names_in(m_.mnt() / "a/b"), std::set<std::string>{"c.txt"});
}

// Containment past PATH_MAX (the kernel cannot name such a handle, so the daemon climbs `..`
// comparing identities): a regular file there has no `..`, and chown, getxattr and stat after a
// read or an append failed with ENOTDIR on the previous build. Served like any other file now.
TEST(LongHostPaths, FilesPastPathMaxAreServedLikeAnyOther) {
  Mount m;
  ASSERT_TRUE(m.ok());
  int dir = ::open(m.mnt().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  const std::string level(200, 'x');
  for (int i = 0; i < 24; ++i) {  // 24 * 201 bytes: past PATH_MAX with any BACKING
    ASSERT_EQ(::mkdirat(dir, level.c_str(), 0755), 0) << i << ": " << std::strerror(errno);
    int next = ::openat(dir, level.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(dir);
    dir = next;
  }
  int f = ::openat(dir, "deep.txt", O_CREAT | O_RDWR | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(f, 0) << std::strerror(errno);
  ASSERT_EQ(::write(f, "one\n", 4), 4);
  char buf[16];
  EXPECT_EQ(::pread(f, buf, sizeof buf, 0), 4);
  ASSERT_EQ(::write(f, "two\n", 4), 4);
  ::close(f);
  struct stat st {};
  EXPECT_EQ(::fstatat(dir, "deep.txt", &st, 0), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_size, 8);
  EXPECT_EQ(::fchownat(dir, "deep.txt", ::getuid(), ::getgid(), 0), 0) << std::strerror(errno);
  f = ::openat(dir, "deep.txt", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(f, 0);
  EXPECT_EQ(::fsetxattr(f, "user.k", "v", 1, 0), 0) << std::strerror(errno);
  EXPECT_EQ(::fgetxattr(f, "user.k", buf, sizeof buf), 1) << std::strerror(errno);
  EXPECT_EQ(::fstat(f, &st), 0) << std::strerror(errno);
  EXPECT_EQ(::read(f, buf, sizeof buf), 8);
  ::close(f);
  EXPECT_EQ(::fstatat(dir, "deep.txt", &st, 0), 0) << std::strerror(errno);
  ::close(dir);
}

}  // namespace
}  // namespace confinefs::testing
