// Short races through a real mount, one per defence: an outside thread flips the backing
// directory while the test works through the mount; nothing outside may change and nothing from
// outside may be read. (The torture suite, scripts/torture, runs these attacks far harder.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRaceTime = std::chrono::milliseconds(1500);
const std::string kSecret = "CANARY-SECRET-DO-NOT-LEAK";

struct Snapshot {
  std::string content;
  struct stat st;
};

Snapshot snapshot(const fs::path& p) {
  Snapshot s{read_file(p), {}};
  ::stat(p.c_str(), &s.st);
  return s;
}

void expect_unchanged(const fs::path& p, const Snapshot& before) {
  Snapshot now = snapshot(p);
  EXPECT_EQ(now.content, before.content) << p;
  EXPECT_EQ(now.st.st_mode, before.st.st_mode) << p;
  EXPECT_EQ(now.st.st_uid, before.st.st_uid) << p;
  EXPECT_EQ(now.st.st_size, before.st.st_size) << p;
  EXPECT_EQ(now.st.st_mtim.tv_sec, before.st.st_mtim.tv_sec) << p;
  EXPECT_EQ(now.st.st_mtim.tv_nsec, before.st.st_mtim.tv_nsec) << p;
  char buf[64];
  EXPECT_EQ(::getxattr(p.c_str(), "user.pwned", buf, sizeof buf), -1) << p;
}

// Runs attack() in a loop on another thread while victim() runs here, for kRaceTime.
// Returns how many attack rounds ran (a race with no attacks proves nothing).
template <typename Attack, typename Victim>
uint64_t race(Attack attack, Victim victim) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> rounds{0};
  std::thread attacker([&] {
    while (!stop.load()) {
      attack();
      rounds.fetch_add(1);
    }
  });
  auto end = Clock::now() + kRaceTime;
  while (Clock::now() < end) victim();
  stop = true;
  attacker.join();
  return rounds.load();
}

// The victim's moves through the mount on a name: write with O_TRUNC, chmod, set times and
// xattrs, and read back (any read must not return the secret).
void use_name(const fs::path& p, std::atomic<int>& leaks) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, "pwned", 5);
    ::close(fd);
  }
  ::chmod(p.c_str(), 0777);
  ::truncate(p.c_str(), 1);
  ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
  ::setxattr(p.c_str(), "user.pwned", "1", 1, 0);
  fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    char buf[64] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, n).find("CANARY") != std::string::npos) leaks++;
    ::close(fd);
  }
}

class RaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_.ok());
    secret_ = m_.outside() / "secret";
    write_file(secret_, kSecret);
    ::chmod(secret_.c_str(), 0600);
    before_ = snapshot(secret_);
  }
  void TearDown() override { expect_unchanged(secret_, before_); }

  Mount m_;
  fs::path secret_;
  Snapshot before_;
  std::atomic<int> leaks_{0};
};

TEST_F(RaceTest, SymlinkAppearingAtTheCreatedName) {
  // The Monty report's attack: ln -sf /outside/target results.json; rm -f results.json.
  auto name = m_.backing() / "results.json";
  uint64_t n = race(
      [&] {
        ::symlink(secret_.c_str(), name.c_str());
        ::unlink(name.c_str());
      },
      [&] {
        use_name(m_.mnt() / "results.json", leaks_);
        ::unlink((m_.mnt() / "results.json").c_str());
      });
  EXPECT_GT(n, 100u);
  EXPECT_EQ(leaks_, 0);
}

TEST_F(RaceTest, HardlinkAppearingAtTheUsedName) {
  auto name = m_.backing() / "data";
  auto tmp = m_.backing() / ".tmp";
  uint64_t n = race(
      [&] {
        m_.link_from_before(secret_, ".tmp");
        ::rename(tmp.c_str(), name.c_str());
        write_file(tmp, "benign");
        ::rename(tmp.c_str(), name.c_str());
      },
      [&] { use_name(m_.mnt() / "data", leaks_); });
  EXPECT_GT(n, 100u);
  EXPECT_EQ(leaks_, 0);
}

TEST_F(RaceTest, HardlinkRacedInAndOutByPathNeverGetsIn) {
  // link(OUTSIDE/secret, BACKING/results.json); unlink(...) by path, against in-place rewrites
  // (O_CREAT|O_TRUNC) and reads: the link-count checks alone lose this race (unlink lowers the
  // count before the name goes); BACKING being a mount of its own makes every link() EXDEV.
  auto name = m_.backing() / "results.json";
  std::atomic<uint64_t> linked{0};
  uint64_t n = race(
      [&] {
        if (::link(secret_.c_str(), name.c_str()) == 0) linked++;
        ::unlink(name.c_str());
      },
      [&] { use_name(m_.mnt() / "results.json", leaks_); });
  EXPECT_GT(n, 1000u);
  EXPECT_EQ(linked.load(), 0u);
  EXPECT_EQ(leaks_, 0);
}

TEST_F(RaceTest, RenameExchangeOfFileAndSymlink) {
  write_file(m_.backing() / "f", "benign");
  ::symlink(secret_.c_str(), (m_.backing() / "l").c_str());
  uint64_t n = race(
      [&] {
        ::renameat2(AT_FDCWD, (m_.backing() / "f").c_str(), AT_FDCWD, (m_.backing() / "l").c_str(),
                    RENAME_EXCHANGE);
      },
      [&] { use_name(m_.mnt() / "f", leaks_); });
  EXPECT_GT(n, 100u);
  EXPECT_EQ(leaks_, 0);
}

TEST_F(RaceTest, IntermediateDirectoryFlippingToSymlink) {
  auto out_dir = m_.outside() / "dir";
  fs::create_directories(out_dir);
  fs::create_directories(m_.backing() / "d");
  ::symlink(out_dir.c_str(), (m_.backing() / "dlink").c_str());
  uint64_t n = race(
      [&] {
        ::renameat2(AT_FDCWD, (m_.backing() / "d").c_str(), AT_FDCWD,
                    (m_.backing() / "dlink").c_str(), RENAME_EXCHANGE);
      },
      [&] {
        ::mkdir((m_.mnt() / "d" / "sub").c_str(), 0755);
        int fd = ::open((m_.mnt() / "d" / "new").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) ::close(fd);
        ::unlink((m_.mnt() / "d" / "new").c_str());
        ::rmdir((m_.mnt() / "d" / "sub").c_str());
      });
  EXPECT_GT(n, 100u);
  EXPECT_TRUE(fs::is_empty(out_dir)) << "files landed outside";
}

TEST_F(RaceTest, RegularFileFlippingToFifoNeverWedgesTheDaemon) {
  auto name = m_.backing() / "p";
  auto fifo = m_.backing() / ".fifo";
  auto file = m_.backing() / ".file";
  uint64_t n = race(
      [&] {
        ::mkfifo(fifo.c_str(), 0666);
        ::rename(fifo.c_str(), name.c_str());
        write_file(file, "x");
        ::rename(file.c_str(), name.c_str());
      },
      [&] {
        int fd = ::open((m_.mnt() / "p").c_str(), O_RDONLY);
        if (fd >= 0) {
          char c;
          [[maybe_unused]] auto r = ::read(fd, &c, 1);
          ::close(fd);
        }
      });
  EXPECT_GT(n, 100u);
  // Still answering: a stat through the mount comes back.
  struct stat st {};
  EXPECT_EQ(::stat(m_.mnt().c_str(), &st), 0);
}

}  // namespace
}  // namespace confinefs::testing
