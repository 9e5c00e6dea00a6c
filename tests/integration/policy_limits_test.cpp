// Through a real mount: limits.max_file_size (EFBIG), quota_bytes and quota_inodes (EDQUOT on
// growth through the mount), and statfs showing the quota.
#include <sys/statvfs.h>

#include <vector>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

// Writes n bytes at offset to path through the mount; returns errno (0 on success).
int write_at(const fs::path& path, size_t n, off_t offset, int extra_flags = 0) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | extra_flags, 0644);
  if (fd < 0) return errno;
  std::vector<char> buf(n, 'x');
  ssize_t w = ::pwrite(fd, buf.data(), n, offset);
  int err = w < 0 ? errno : (static_cast<size_t>(w) == n ? 0 : -1);
  ::close(fd);
  return err;
}

TEST(PolicyLimitsTest, MaxFileSizeIsEfbigForWritesAndTruncates) {
  PolicyMount p("version: 1\nlimits: {max_file_size: 4K}\n");
  ASSERT_TRUE(p.m().ok());
  EXPECT_EQ(write_at(p.mnt("f"), 4096, 0), 0);
  EXPECT_EQ(write_at(p.mnt("f"), 1, 4096), EFBIG);
  EXPECT_EQ(errno_of([&] { return ::truncate(p.mnt("f").c_str(), 8192); }), EFBIG);
  EXPECT_EQ(errno_of([&] { return ::truncate(p.mnt("f").c_str(), 100); }), 0);
  EXPECT_EQ(fs::file_size(p.backing("f")), 100u);
}

TEST(PolicyLimitsTest, QuotaBytesIsEdquotOnGrowthAndFreedByUnlink) {
  PolicyMount p("version: 1\nlimits: {quota_bytes: 64K}\n");
  ASSERT_TRUE(p.m().ok());
  EXPECT_EQ(write_at(p.mnt("a"), 40 * 1024, 0), 0);
  EXPECT_EQ(write_at(p.mnt("b"), 40 * 1024, 0), EDQUOT);
  // Rewriting inside a file does not grow it.
  EXPECT_EQ(write_at(p.mnt("a"), 40 * 1024, 0), 0);
  EXPECT_EQ(errno_of([&] { return ::truncate(p.mnt("a").c_str(), 128 * 1024); }), EDQUOT);
  EXPECT_EQ(errno_of([&] { return ::unlink(p.mnt("a").c_str()); }), 0);
  EXPECT_EQ(write_at(p.mnt("b"), 60 * 1024, 0), 0);
  // O_TRUNC gives the bytes back.
  EXPECT_EQ(write_at(p.mnt("b"), 60 * 1024, 0, O_TRUNC), 0);
  EXPECT_EQ(write_at(p.mnt("c"), 8 * 1024, 0), EDQUOT);
}

TEST(PolicyLimitsTest, QuotaInodesIsEdquotOnCreation) {
  PolicyMount p("version: 1\nlimits: {quota_inodes: 3}\n");
  ASSERT_TRUE(p.m().ok());
  EXPECT_EQ(open_errno(p.mnt("a"), O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(errno_of([&] { return ::mkdir(p.mnt("d").c_str(), 0755); }), 0);
  EXPECT_EQ(open_errno(p.mnt("d/b"), O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(open_errno(p.mnt("c"), O_WRONLY | O_CREAT), EDQUOT);
  EXPECT_EQ(errno_of([&] { return ::mkdir(p.mnt("e").c_str(), 0755); }), EDQUOT);
  EXPECT_FALSE(fs::exists(p.backing("c")));
  EXPECT_EQ(errno_of([&] { return ::unlink(p.mnt("a").c_str()); }), 0);
  EXPECT_EQ(open_errno(p.mnt("c"), O_WRONLY | O_CREAT), 0);
}

TEST(PolicyLimitsTest, StatfsShowsTheQuota) {
  PolicyMount p("version: 1\nlimits: {quota_bytes: 1M, quota_inodes: 100}\n");
  ASSERT_TRUE(p.m().ok());
  ASSERT_EQ(write_at(p.mnt("f"), 256 * 1024, 0), 0);
  struct statvfs st {};
  ASSERT_EQ(::statvfs(p.mnt().c_str(), &st), 0);
  EXPECT_EQ(st.f_blocks * st.f_frsize, 1024u * 1024u);
  EXPECT_EQ(st.f_bavail * st.f_frsize, 768u * 1024u);
  EXPECT_EQ(st.f_files, 100u);
  EXPECT_EQ(st.f_ffree, 99u);
}

TEST(PolicyLimitsTest, ReloadRescansUsageMadeOutside) {
  PolicyMount p("version: 1\nlimits: {quota_bytes: 64K}\n");
  ASSERT_TRUE(p.m().ok());
  write_file(p.backing("outside-made"), std::string(60 * 1024, 'o'));  // not seen yet
  EXPECT_EQ(write_at(p.mnt("a"), 8 * 1024, 0), 0);
  p.reload("version: 1\nlimits: {quota_bytes: 64K}\n");  // rescan: 68K in use now
  EXPECT_EQ(write_at(p.mnt("b"), 1, 0), EDQUOT);
}

}  // namespace
}  // namespace confinefs::testing

namespace confinefs::testing {
namespace {

// An O_APPEND write lands at the host file's real end, not at the offset the kernel sends (its
// cached size): an outside process that grew the file meanwhile must not let a write pass
// max_file_size or quota_bytes.
TEST(PolicyLimitsAppend, AppendsAreJudgedAtTheRealEndOfTheFile) {
  PolicyMount p("version: 1\nlimits: {max_file_size: 4K}\n", {"-o", "cache=auto"});
  ASSERT_TRUE(p.m().ok());
  write_file(p.mnt("log"), std::string(3000, 'a'));
  int fd = ::open(p.mnt("log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {  // outside, behind the kernel's cached size of 3000
    int out = ::open(p.backing("log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE(out, 0);
    std::string more(1000, 'b');
    ASSERT_EQ(::write(out, more.data(), more.size()), 1000);
    ::close(out);
  }
  std::string tail(200, 'c');
  errno = 0;
  EXPECT_EQ(::write(fd, tail.data(), tail.size()), -1) << "4,000 + 200 bytes under max 4,096";
  EXPECT_EQ(errno, EFBIG);
  ::close(fd);
  EXPECT_EQ(fs::file_size(p.backing("log")), 4000u);
}

}  // namespace
}  // namespace confinefs::testing
