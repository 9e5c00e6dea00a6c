// Quota accounting: the Usage counters and the resolver-safe scan of a backing tree.
#include "fusefs/mount/usage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;

TEST(UsageTest, TakesWithinTheLimitOnly) {
  Usage u;
  EXPECT_TRUE(u.take_bytes(1 << 30, 10)) << "not tracking: everything passes";
  u.start({100, 5});
  EXPECT_TRUE(u.take_bytes(50, 200));
  EXPECT_FALSE(u.take_bytes(51, 200));
  EXPECT_EQ(u.totals().bytes, 150u);
  EXPECT_TRUE(u.take_bytes(1000, std::nullopt));
  u.adjust_bytes(-5000);
  EXPECT_EQ(u.totals().bytes, 0u) << "never below zero";
  EXPECT_FALSE(u.take_bytes(UINT64_MAX, 10)) << "no overflow";
  EXPECT_TRUE(u.take_inode(6));
  EXPECT_FALSE(u.take_inode(6));
  u.give_inode();
  EXPECT_EQ(u.totals().inodes, 5u);
  u.stop();
  EXPECT_TRUE(u.take_inode(0));
}

TEST(UsageTest, ScanCountsWhatTheMountShowsOneComponentAtATime) {
  TempTree t;
  fs::path b = t.path() / "backing";
  fs::create_directories(b / "d/e");
  write_file(b / "a", std::string(100, 'a'));
  write_file(b / "d/e/f", std::string(20, 'f'));
  fs::create_directories(t.path() / "outside");
  write_file(t.path() / "outside/big", std::string(5000, 'x'));
  fs::create_directory_symlink(t.path() / "outside", b / "link");  // never followed
  ::mkfifo((b / "fifo").c_str(), 0600);                            // never counted
  auto r = Resolver::open_root(b.c_str());
  ASSERT_TRUE(r.ok());
  auto totals = scan_usage(r.value());
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->bytes, 120u);
  EXPECT_EQ(totals->inodes, 4u);  // a, d, d/e, d/e/f
}

// Threat 44: a scan that could not see everything only ever raises a live counter.
TEST(UsageTest, AnIncompleteScanNeverLowersTheCounters) {
  Usage u;
  u.start({100, 5});
  u.start({50, 3, false, "x: Permission denied"});
  EXPECT_EQ(u.totals().bytes, 100u);
  EXPECT_EQ(u.totals().inodes, 5u);
  u.start({150, 4, false, "x: Permission denied"});
  EXPECT_EQ(u.totals().bytes, 150u);
  EXPECT_EQ(u.totals().inodes, 5u);
  u.start({10, 1});  // a complete scan is the truth
  EXPECT_EQ(u.totals().bytes, 10u);
  EXPECT_EQ(u.totals().inodes, 1u);
}

// Makes a chain of `depth` directories below dir (names "d"), one level at a time from held fds
// (a path this long cannot be named), and a file of `bytes` bytes at its bottom.
void make_chain(const fs::path& dir, int depth, size_t bytes) {
  int at = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(at, 0);
  for (int i = 0; i < depth; ++i) {
    ASSERT_EQ(::mkdirat(at, "d", 0755), 0) << i;
    int next = ::openat(at, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(at);
    at = next;
  }
  int f = ::openat(at, "payload", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(f, 0);
  ASSERT_EQ(::ftruncate(f, static_cast<off_t>(bytes)), 0);
  ::close(f);
  ::close(at);
}

// Threat 44: data nested deeper than the scan holds levels open is counted too (a tenant moved
// its data ~4,200 levels down and it left the quota: the previous scan stopped at 4,096).
TEST(UsageTest, ScanCountsEveryDepth) {
  TempTree t;
  fs::path b = t.path() / "backing";
  fs::create_directories(b);
  make_chain(b, 4200, 1 << 20);
  fs::create_directories(b / "side");
  make_chain(b / "side", 10, 7);  // a second branch
  auto r = Resolver::open_root(b.c_str());
  ASSERT_TRUE(r.ok());
  for (size_t held : {kMaxScanDepth, size_t{3}}) {
    auto totals = scan_usage(r.value(), held);
    ASSERT_TRUE(totals.ok());
    EXPECT_TRUE(totals->complete) << totals->missed;
    EXPECT_EQ(totals->bytes, (1u << 20) + 7u) << "held " << held;
  }
}

// Threat 44: with -o user= the scan runs with the tenant's rights; an entry it may not read makes
// it incomplete instead of silently uncounted.
TEST(UsageTest, AnEntryTheScanMayNotReadMakesItIncomplete) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to change the filesystem uid";
  TempTree t;
  fs::path b = t.path() / "backing";
  fs::create_directories(b / "hidden");
  write_file(b / "hidden/data", std::string(1000, 'x'));
  ASSERT_EQ(::chmod(t.path().c_str(), 0755), 0);
  ASSERT_EQ(::chown(b.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chown((b / "hidden").c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod((b / "hidden").c_str(), 0300), 0);  // write and search, no read
  auto r = Resolver::open_root(b.c_str());
  ASSERT_TRUE(r.ok());
  // As the tenant: setfsuid away from 0 drops the capabilities that would override the mode.
  ::setfsuid(65534);
  ::setfsgid(65534);
  auto totals = scan_usage(r.value());
  ::setfsuid(0);
  ::setfsgid(0);
  ASSERT_TRUE(totals.ok());
  EXPECT_FALSE(totals->complete);
  EXPECT_NE(totals->missed.find("hidden"), std::string::npos) << totals->missed;
}

}  // namespace
}  // namespace confinefs
