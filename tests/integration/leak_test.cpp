// Leak check: after creating, looking up and forgetting many nodes, the daemon's
// open fd count returns to its baseline. The kernel forgets inodes when its inode cache is dropped
// (echo 2 > /proc/sys/vm/drop_caches) and when unlinked names go away; FORGET/BATCH_FORGET must
// release the node's fd, and RELEASE/RELEASEDIR the open file's.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace {

namespace fs = std::filesystem;
using confinefs::testing::Mount;

constexpr size_t kSlack = 16;

bool drop_inode_caches() {
  std::ofstream out("/proc/sys/vm/drop_caches");
  out << "2\n";
  out.flush();
  return static_cast<bool>(out);
}

// Drops the kernel's dentry/inode caches until the daemon is back to baseline + slack, or a few
// seconds have passed (FORGETs are asynchronous). Returns the last count seen.
size_t settle(const Mount& m, size_t baseline) {
  size_t n = m.daemon_fd_count();
  for (int i = 0; i < 100 && n > baseline + kSlack; ++i) {
    EXPECT_TRUE(drop_inode_caches()) << "cannot write /proc/sys/vm/drop_caches";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    n = m.daemon_fd_count();
    if (std::getenv("LEAK_VERBOSE")) std::printf("  settle %d: %zu fds\n", i, n);
  }
  return n;
}

std::vector<fs::path> make_files(const fs::path& root, int dirs, int subdirs, int files) {
  std::vector<fs::path> made;
  for (int d = 0; d < dirs; ++d) {
    for (int s = 0; s < subdirs; ++s) {
      fs::path dir = root / ("d" + std::to_string(d)) / ("s" + std::to_string(s));
      fs::create_directories(dir);
      for (int f = 0; f < files; ++f) {
        fs::path p = dir / ("f" + std::to_string(f));
        int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        EXPECT_GE(fd, 0) << p;
        if (fd < 0) return made;
        EXPECT_EQ(::write(fd, "x", 1), 1);
        ::close(fd);
        made.push_back(p);
      }
    }
  }
  return made;
}

class Leak : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<Mount>();
    ASSERT_TRUE(mount_->ok()) << "confinefs did not mount";
    struct stat st {};
    ASSERT_EQ(::stat(mount_->mnt().c_str(), &st), 0);
    baseline_ = mount_->daemon_fd_count();
    ASSERT_GT(baseline_, 0u);
  }
  void TearDown() override { mount_.reset(); }

  std::unique_ptr<Mount> mount_;
  size_t baseline_ = 0;
};

TEST_F(Leak, CreateStatForgetThenUnlink) {
  const fs::path root = mount_->mnt() / "tree";
  auto files = make_files(root, 10, 5, 100);  // 5000 files, 60 directories
  ASSERT_EQ(files.size(), 5000u);
  for (auto& p : files) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    ASSERT_EQ(st.st_size, 1);
  }
  size_t peak = mount_->daemon_fd_count();
  std::printf("baseline %zu fds, %zu with 5000 files known\n", baseline_, peak);
  size_t after_forget = settle(*mount_, baseline_);
  EXPECT_LE(after_forget, baseline_ + kSlack)
      << "fds not released after the kernel forgot the inodes (baseline " << baseline_ << ", peak "
      << peak << ")";
  // Look everything up again (the daemon must find the files anew), then remove it all.
  for (auto& p : files) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
  }
  fs::remove_all(root);
  EXPECT_FALSE(fs::exists(mount_->backing() / "tree"));
  size_t after_unlink = settle(*mount_, baseline_);
  EXPECT_LE(after_unlink, baseline_ + kSlack)
      << "fds not released after unlinking everything (baseline " << baseline_ << ")";
}

TEST_F(Leak, OpenFilesAndDirectoriesAreReleased) {
  const fs::path root = mount_->mnt() / "open";
  auto files = make_files(root, 2, 5, 100);
  ASSERT_EQ(files.size(), 1000u);
  // Hold many files and directories open at once, then close them all.
  std::vector<int> fds;
  for (auto& p : files) {
    int fd = ::open(p.c_str(), (fds.size() % 2 ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    ASSERT_GE(fd, 0) << p;
    fds.push_back(fd);
  }
  std::vector<DIR*> dirs;
  for (int d = 0; d < 2; ++d) {
    for (int s = 0; s < 5; ++s) {
      for (int k = 0; k < 20; ++k) {
        DIR* dir =
            ::opendir((root / ("d" + std::to_string(d)) / ("s" + std::to_string(s))).c_str());
        ASSERT_NE(dir, nullptr);
        ASSERT_NE(::readdir(dir), nullptr);
        dirs.push_back(dir);
      }
    }
  }
  size_t peak = mount_->daemon_fd_count();
  for (int fd : fds) ::close(fd);
  for (DIR* d : dirs) ::closedir(d);
  std::printf("baseline %zu fds, %zu with 1000 files and 200 directories open\n", baseline_, peak);
  size_t after = settle(*mount_, baseline_);
  EXPECT_LE(after, baseline_ + kSlack) << "fds not released after close (peak " << peak << ")";
  // Renames across directories keep the node table consistent and leak nothing either.
  for (size_t i = 0; i < files.size(); i += 2) {
    fs::path to = root / "d1" / "s0" / ("moved" + std::to_string(i));
    ASSERT_EQ(::rename(files[i].c_str(), to.c_str()), 0) << files[i];
  }
  fs::remove_all(root);
  after = settle(*mount_, baseline_);
  EXPECT_LE(after, baseline_ + kSlack) << "fds not released after renames and removal";
}

// readdirplus: `ls -l` of a big directory makes the kernel learn every entry from READDIRPLUS.
TEST_F(Leak, ReaddirplusOfBigDirectory) {
  const fs::path host = mount_->backing() / "big";
  fs::create_directory(host);
  for (int i = 0; i < 5000; ++i) {
    std::ofstream(host / ("entry-" + std::to_string(i))) << i;
  }
  for (int i = 0; i < 100; ++i) fs::create_directory(host / ("dir-" + std::to_string(i)));
  size_t peak = 0;
  for (int round = 0; round < 2; ++round) {
    std::string cmd = "ls -l '" + (mount_->mnt() / "big").string() + "' | wc -l";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[64] = {};
    ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
    ASSERT_EQ(::pclose(p), 0);
    EXPECT_EQ(std::stol(buf), 5101) << "ls -l lines (5100 entries and the total)";
    peak = std::max(peak, mount_->daemon_fd_count());
    size_t after = settle(*mount_, baseline_);
    EXPECT_LE(after, baseline_ + kSlack)
        << "round " << round << ": fds not released after ls -l (peak " << peak << ")";
  }
  std::printf("baseline %zu fds, peak %zu during ls -l of 5100 entries\n", baseline_, peak);
  // The same directory removed through the mount after readdirplus taught the kernel its entries.
  std::string cmd = "ls -l '" + (mount_->mnt() / "big").string() + "' > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  fs::remove_all(mount_->mnt() / "big");
  EXPECT_FALSE(fs::exists(host));
  size_t after = settle(*mount_, baseline_);
  EXPECT_LE(after, baseline_ + kSlack) << "fds not released after removing the directory";
}

// The kernel forgets inodes when it likes; on a host with memory to spare, it may keep every name
// a tenant touched, one daemon fd each. Past its node budget (here three quarters of max_nodes),
// the daemon asks the kernel to drop the oldest entries, so lookups go on succeeding far past
// max_nodes and the fd count stays near the budget instead of ending in ENFILE/EMFILE.
TEST(NodeBudget, LookupsFarPastMaxNodesSucceedAndFdsStayNearTheBudget) {
  constexpr int kDirs = 10, kPerDir = 1500, kMaxNodes = 4000;
  Mount m({"-o", "max_nodes=" + std::to_string(kMaxNodes)});
  ASSERT_TRUE(m.ok());
  for (int d = 0; d < kDirs; ++d) {
    fs::path dir = m.backing() / ("d" + std::to_string(d));
    fs::create_directory(dir);
    for (int i = 0; i < kPerDir; ++i) std::ofstream(dir / std::to_string(i)) << i;
  }
  size_t peak = 0;
  for (int round = 0; round < 2; ++round) {
    for (int d = 0; d < kDirs; ++d) {
      for (int i = 0; i < kPerDir; ++i) {
        fs::path p = m.mnt() / ("d" + std::to_string(d)) / std::to_string(i);
        struct stat st {};
        ASSERT_EQ(::stat(p.c_str(), &st), 0) << p << ": " << std::strerror(errno);
        ASSERT_EQ(st.st_size, static_cast<off_t>(std::to_string(i).size()));
      }
      peak = std::max(peak, m.daemon_fd_count());
    }
  }
  std::printf("%d lookups per round, max_nodes %d, peak %zu fds\n", kDirs * kPerDir, kMaxNodes,
              peak);
  EXPECT_LT(peak, static_cast<size_t>(kMaxNodes));
}

// Threat 44: one user of an allow_other mount pins nodes with O_PATH fds (the reclaimer can only
// evict nodes nothing holds) until the table is full; only that user gets ENFILE, another user's
// lookups go on (the previous build: ENFILE for every user).
TEST(NodeBudget, AUserPinningTheTableIsRefusedAlone) {
  constexpr int kMaxNodes = 400;
  Mount m({"-o", "allow_other,max_nodes=" + std::to_string(kMaxNodes)});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(::chmod(m.backing().parent_path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(m.mnt().c_str(), 0755), 0);
  fs::create_directory(m.backing() / "pin");
  for (int i = 0; i < kMaxNodes + 100; ++i) std::ofstream(m.backing() / "pin" / std::to_string(i));
  fs::create_directory(m.backing() / "other");
  for (int i = 0; i < 50; ++i) std::ofstream(m.backing() / "other" / std::to_string(i)) << i;
  int ready[2], done[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(done, O_CLOEXEC), 0);
  pid_t pinner = ::fork();
  ASSERT_GE(pinner, 0);
  if (pinner == 0) {
    ::close(done[1]);  // else its own copy keeps the pipe from ever ending
    ::close(ready[0]);
    if (::setgid(12345) != 0 || ::setuid(12345) != 0) _exit(10);
    char refused = 0;
    std::vector<int> held;
    for (int i = 0; i < kMaxNodes + 100; ++i) {
      int fd = ::open((m.mnt() / "pin" / std::to_string(i)).c_str(), O_PATH | O_CLOEXEC);
      if (fd < 0) {
        refused = errno == ENFILE ? 1 : 2;
        break;
      }
      held.push_back(fd);
    }
    (void)!::write(ready[1], &refused, 1);
    char byte;
    (void)!::read(done[0], &byte, 1);  // holds them until the other user is done
    _exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char refused = 0;
  ASSERT_EQ(::read(ready[0], &refused, 1), 1);
  EXPECT_EQ(refused, 1) << "the pinning user was never refused (2: not ENFILE)";
  // Root is another user: every lookup works while the table is full of the other's nodes.
  for (int i = 0; i < 50; ++i) {
    struct stat st {};
    fs::path p = m.mnt() / "other" / std::to_string(i);
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p << ": " << std::strerror(errno);
  }
  ::close(done[1]);
  ::waitpid(pinner, nullptr, 0);
  ::close(ready[0]);
}

}  // namespace
