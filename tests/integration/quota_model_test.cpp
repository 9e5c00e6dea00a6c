// limits.quota_bytes against a tenant that works the accounting (threat 26): bytes of a file
// removed while it is open go back once, at its last close, never at the unlink and again at a
// truncate of the open fd; and a randomized sequence of writes, truncates, unlinks, renames over
// and closes leaves the counter equal to what BACKING really holds.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// The bytes the daemon counts, read back from statfs through the mount (the quota is reported
// as the filesystem's size; rounded up to whole blocks).
uint64_t counted_bytes(const fs::path& mnt, uint64_t quota) {
  struct statvfs st {};
  if (::statvfs(mnt.c_str(), &st) != 0) return UINT64_MAX;
  uint64_t free = static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
  return free > quota ? 0 : quota - free;
}

// What BACKING holds: the apparent sizes of its regular files.
uint64_t held_bytes(const fs::path& backing) {
  uint64_t sum = 0;
  for (const auto& e : fs::recursive_directory_iterator(backing)) {
    if (e.is_regular_file()) sum += e.file_size();
  }
  return sum;
}

bool write_bytes(int fd, size_t n) {
  std::string block(64 * 1024, 'q');
  while (n > 0) {
    size_t chunk = std::min(n, block.size());
    if (::write(fd, block.data(), chunk) != static_cast<ssize_t>(chunk)) return false;
    n -= chunk;
  }
  return true;
}

TEST(QuotaModel, UnlinkThenTruncateOfTheOpenFileGivesTheBytesBackOnce) {
  PolicyMount p("version: 1\nlimits: {quota_bytes: 10M}\n");
  ASSERT_TRUE(p.m().ok());
  int kept = 0;
  for (int round = 0; round < 10; ++round) {
    int fd = ::open(p.mnt("x").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    bool wrote = write_bytes(fd, 5 * kMiB);
    ::unlink(p.mnt("x").c_str());
    if (::ftruncate(fd, 0) != 0) ADD_FAILURE() << "ftruncate: " << std::strerror(errno);
    ::close(fd);
    if (!wrote) break;
    int keep =
        ::open(p.mnt("kept" + std::to_string(round)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(keep, 0);
    kept += write_bytes(keep, 5 * kMiB);
    ::close(keep);
  }
  EXPECT_LE(held_bytes(p.backing()), 10 * kMiB) << kept << " files of 5 MiB kept";
}

// Files the random sequence uses, and the fds it holds (some of them on removed files).
struct OpenFd {
  int fd;
  std::string name;  // "" once removed
};

TEST(QuotaModel, RandomSequencesKeepTheCounterEqualToWhatBackingHolds) {
  constexpr uint64_t kQuota = 64 * kMiB;
  PolicyMount p("version: 1\nlimits: {quota_bytes: 64M}\n");
  ASSERT_TRUE(p.m().ok());
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::vector<OpenFd> fds;
  for (int step = 0; step < 3000; ++step) {
    std::string name = "f" + std::to_string(pick(6));
    switch (pick(7)) {
      case 0:
      case 1: {  // write somewhere in an open file (or open one)
        if (fds.empty() || pick(3) == 0) {
          int fd = ::open(p.mnt(name).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
          if (fd >= 0) fds.push_back({fd, name});
          break;
        }
        auto& f = fds[pick(static_cast<int>(fds.size()))];
        std::string data(static_cast<size_t>(pick(256 * 1024)), 'w');
        (void)!::pwrite(f.fd, data.data(), data.size(), pick(1 << 20));
        break;
      }
      case 2:  // truncate an open file, possibly a removed one
        if (!fds.empty()) {
          (void)!::ftruncate(fds[pick(static_cast<int>(fds.size()))].fd, pick(512 * 1024));
        }
        break;
      case 3:  // unlink a name, open or not
        if (::unlink(p.mnt(name).c_str()) == 0) {
          for (auto& f : fds) {
            if (f.name == name) f.name.clear();
          }
        }
        break;
      case 4: {  // rename one name over another
        std::string to = "f" + std::to_string(pick(6));
        if (to != name && ::rename(p.mnt(name).c_str(), p.mnt(to).c_str()) == 0) {
          for (auto& f : fds) {
            if (f.name == to) f.name.clear();
            if (f.name == name) f.name = to;
          }
        }
        break;
      }
      default:  // close
        if (!fds.empty()) {
          size_t i = static_cast<size_t>(pick(static_cast<int>(fds.size())));
          ::close(fds[i].fd);
          fds.erase(fds.begin() + static_cast<long>(i));
        }
    }
    if (step % 250 == 0) {
      // Never below what the names hold (open removed files hold more, never less).
      ASSERT_GE(counted_bytes(p.mnt(), kQuota) + 4096, held_bytes(p.backing())) << "step " << step;
    }
  }
  for (auto& f : fds) ::close(f.fd);
  // The kernel sends RELEASE after close() returns: wait for the last ones to be counted.
  uint64_t counted = 0, held = held_bytes(p.backing());
  for (int i = 0; i < 200; ++i) {
    counted = counted_bytes(p.mnt(), kQuota);
    if (counted <= held + 4096) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(counted + 4096, held);
  EXPECT_LE(counted, held + 4096 * 8) << "counted more than BACKING holds";
}

}  // namespace
}  // namespace confinefs::testing

namespace confinefs::testing {
namespace {

// Extended attribute values are stored bytes too (threat 32): 100 empty files carrying 1 KiB
// values (ext4 keeps an inode's attributes in one block) stay within a 64 KiB quota, removing
// the values or the files gives the bytes back, and a reload's scan counts what is there.
TEST(QuotaXattrs, AttributeValuesCountAgainstQuotaBytesAndComeBack) {
  constexpr uint64_t kQuota = 64 * 1024;
  PolicyMount p("version: 1\nlimits: {quota_bytes: 64K}\n");
  ASSERT_TRUE(p.m().ok());
  const std::string value(1024, 'v');
  const uint64_t cost = value.size() + sizeof "user.a";  // name, NUL, value
  int stored = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    fs::path f = p.mnt("f" + std::to_string(i));
    write_file(f, "");
    if (::setxattr(f.c_str(), "user.a", value.data(), value.size(), 0) == 0) {
      ++stored;
    } else {
      ASSERT_EQ(errno, EDQUOT);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0) << "100 x 1 KiB of values under a 64 KiB quota";
  EXPECT_LE(stored * cost, kQuota);
  EXPECT_NEAR(static_cast<double>(counted_bytes(p.mnt(), kQuota)),
              static_cast<double>(stored * cost), 4096);
  // A reload rescans BACKING and finds the same.
  p.reload("version: 1\nlimits: {quota_bytes: 64K}\n");
  EXPECT_NEAR(static_cast<double>(counted_bytes(p.mnt(), kQuota)),
              static_cast<double>(stored * cost), 4096);
  // Removed values and removed files give their bytes back.
  for (int i = 0; i < stored / 2; ++i) {
    ASSERT_EQ(::removexattr(p.mnt("f" + std::to_string(i)).c_str(), "user.a"), 0);
  }
  for (int i = stored / 2; i < 100; ++i) ::unlink(p.mnt("f" + std::to_string(i)).c_str());
  EXPECT_LE(counted_bytes(p.mnt(), kQuota), 4096u);
  // Replacing a value with a shorter one gives back the difference.
  fs::path g = p.mnt("g");
  write_file(g, "");
  ASSERT_EQ(::setxattr(g.c_str(), "user.a", value.data(), value.size(), 0), 0);
  ASSERT_EQ(::setxattr(g.c_str(), "user.a", "x", 1, 0), 0);
  EXPECT_LE(counted_bytes(p.mnt(), kQuota), 4096u);
}

}  // namespace
}  // namespace confinefs::testing
