// Quota accounting: the Usage counters and the resolver-safe scan of a backing tree.
#include "fusefs/mount/usage.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace confinefs
