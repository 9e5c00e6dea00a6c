// Symlinks, FIFOs and sockets made through a real mount (fusefs/objects/): what the client sees,
// what the host holds, and what outside processes can and cannot make of the stored files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "tests/integration/policy_support.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

std::string readlink_of(const fs::path& p, int* error = nullptr) {
  char buf[8192];
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
  if (error != nullptr) *error = n < 0 ? errno : 0;
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

int readlink_errno(const fs::path& p) {
  int error = 0;
  readlink_of(p, &error);
  return error;
}

mode_t lstat_type(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

std::string host_marker(const fs::path& p) {
  char v[64];
  ssize_t n = ::lgetxattr(p.c_str(), "user.confinefs.object", v, sizeof v);
  return n < 0 ? std::string() : std::string(v, static_cast<size_t>(n));
}

// Standard output of a shell command.
std::string sh_out(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// What an outside process can write into BACKING: a file that looks like a stored object.
void forge(const fs::path& p, const std::string& marker, const std::string& content) {
  write_file(p, content);
  ASSERT_EQ(::chmod(p.c_str(), 01644), 0);
  ASSERT_EQ(::setxattr(p.c_str(), "user.confinefs.object", marker.data(), marker.size(), 0), 0);
}

class Objects : public ::testing::Test {
 protected:
  // cache=strict: every probe reaches the daemon, as an outside change would be seen at once.
  Mount m_{{"-o", "cache=strict"}};
};

TEST_F(Objects, ALinkIsAPlainFileOnTheHostAndALinkThroughTheMount) {
  ASSERT_TRUE(m_.ok());
  write_file(m_.mnt() / "target", "content");
  ASSERT_EQ(::symlink("target", (m_.mnt() / "l").c_str()), 0);
  EXPECT_EQ(lstat_type(m_.mnt() / "l"), static_cast<mode_t>(S_IFLNK));
  EXPECT_EQ(readlink_of(m_.mnt() / "l"), "target");
  EXPECT_EQ(read_file(m_.mnt() / "l"), "content");
  write_file(m_.mnt() / "l", "through the link");  // the kernel follows it for writes too
  EXPECT_EQ(read_file(m_.backing() / "target"), "through the link");
  struct stat st {};
  ASSERT_EQ(::lstat((m_.mnt() / "l").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 6);
  // On the host: a regular file that holds the target, nothing any tool follows.
  ASSERT_EQ(::lstat((m_.backing() / "l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_TRUE(st.st_mode & S_ISVTX);
  EXPECT_EQ(read_file(m_.backing() / "l"), "target");
  EXPECT_EQ(host_marker(m_.backing() / "l"), "symlink");
  // Removed and renamed like a file.
  ASSERT_EQ(::rename((m_.mnt() / "l").c_str(), (m_.mnt() / "l2").c_str()), 0);
  EXPECT_EQ(readlink_of(m_.mnt() / "l2"), "target");
  ASSERT_EQ(::unlink((m_.mnt() / "l2").c_str()), 0);
  EXPECT_EQ(names_in(m_.backing()), std::set<std::string>{"target"});
}

TEST_F(Objects, LinksThatWouldLeadOutAreRefusedAtCreation) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "a" / "b");
  for (const char* target : {"/etc/passwd", "../../../x", "a/../x", "x/..", "..//../../a"}) {
    errno = 0;
    EXPECT_EQ(::symlink(target, (m_.mnt() / "a" / "b" / "l").c_str()), -1) << target;
    EXPECT_EQ(errno, EPERM) << target;
  }
  ASSERT_EQ(::symlink("../../x", (m_.mnt() / "a" / "b" / "ok").c_str()), 0);  // up to the root
  EXPECT_EQ(names_in(m_.backing() / "a" / "b"), std::set<std::string>{"ok"});
}

TEST_F(Objects, AStoredTargetRewrittenOutsideIsCheckedEachTimeItIsServed) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "d");
  write_file(m_.mnt() / "d" / "t", "inside");
  ASSERT_EQ(::symlink("t", (m_.mnt() / "d" / "l").c_str()), 0);
  EXPECT_EQ(read_file(m_.mnt() / "d" / "l"), "inside");
  write_file(m_.outside() / "secret", "SECRET");
  // The outside process keeps the marker and rewrites the target, in place.
  for (std::string target : {"../../outside/secret", "/etc/passwd", "x/../../.."}) {
    int fd = ::open((m_.backing() / "d" / "l").c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, target.data(), target.size()), static_cast<ssize_t>(target.size()));
    ::close(fd);
    EXPECT_EQ(readlink_errno(m_.mnt() / "d" / "l"), EACCES) << target;
    EXPECT_EQ(open_errno(m_.mnt() / "d" / "l", O_RDONLY), EACCES) << target;
  }
}

TEST_F(Objects, ForgedLinksAreServedOnlyWhenContained) {
  ASSERT_TRUE(m_.ok());
  write_file(m_.backing() / "t", "inside");
  forge(m_.backing() / "inner", "symlink", "t");
  forge(m_.backing() / "up", "symlink", "../outside/secret");
  forge(m_.backing() / "abs", "symlink", "/etc/passwd");
  EXPECT_EQ(readlink_of(m_.mnt() / "inner"), "t");
  EXPECT_EQ(read_file(m_.mnt() / "inner"), "inside");
  EXPECT_EQ(readlink_errno(m_.mnt() / "up"), EACCES);
  EXPECT_EQ(readlink_errno(m_.mnt() / "abs"), EACCES);
  // A second name (a hardlink inside BACKING) is never read as a link: it may be outside too.
  ASSERT_EQ(::link((m_.backing() / "t").c_str(), (m_.backing() / "t2").c_str()), 0);
  forge(m_.backing() / "t", "symlink", "t");
  EXPECT_EQ(lstat_type(m_.mnt() / "t2"), static_cast<mode_t>(S_IFREG));
  // The sticky bit alone makes nothing a link.
  write_file(m_.backing() / "plain", "../x");
  ASSERT_EQ(::chmod((m_.backing() / "plain").c_str(), 01644), 0);
  EXPECT_EQ(lstat_type(m_.mnt() / "plain"), static_cast<mode_t>(S_IFREG));
}

TEST_F(Objects, AStoredLinkGivenASecondNameIsNoLongerRead) {
  ASSERT_TRUE(m_.ok());
  ASSERT_EQ(::symlink("t", (m_.mnt() / "l").c_str()), 0);
  ASSERT_EQ(readlink_of(m_.mnt() / "l"), "t");
  // The other name could be outside BACKING (a hardlink made before BACKING was a mount): its
  // content is never read, as for any file with two names.
  ASSERT_EQ(::link((m_.backing() / "l").c_str(), (m_.backing() / "l2").c_str()), 0);
  // Looked up again it is a plain file with two names (EINVAL: not a link), whose content is
  // refused like any hardlink's; a kernel that still held the link node gets EACCES.
  int error = readlink_errno(m_.mnt() / "l");
  EXPECT_TRUE(error == EINVAL || error == EACCES) << error;
  EXPECT_EQ(open_errno(m_.mnt() / "l", O_RDONLY), EACCES);
  EXPECT_EQ(open_errno(m_.mnt() / "l2", O_RDONLY), EACCES);
}

TEST_F(Objects, ADirectoryAboveAServedLinkCannotMoveWhereTheLinkWouldLeadOut) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "a" / "b" / "c");
  write_file(m_.mnt() / "t", "top");
  ASSERT_EQ(::symlink("../../../t", (m_.mnt() / "a" / "b" / "c" / "l").c_str()), 0);
  ASSERT_EQ(read_file(m_.mnt() / "a" / "b" / "c" / "l"), "top");  // served: c is 3 deep
  // Moved up, the link would climb above the mount root: refused before the host rename.
  EXPECT_EQ(::rename((m_.mnt() / "a" / "b" / "c").c_str(), (m_.mnt() / "c").c_str()), -1);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_EQ(::rename((m_.mnt() / "a" / "b").c_str(), (m_.mnt() / "b").c_str()), -1);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_EQ(::rename((m_.mnt() / "a" / "b" / "c" / "l").c_str(), (m_.mnt() / "l").c_str()), -1);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_TRUE(fs::exists(m_.backing() / "a" / "b" / "c" / "l"));
  // As deep or deeper is fine.
  fs::create_directories(m_.mnt() / "x" / "y");
  EXPECT_EQ(::rename((m_.mnt() / "a" / "b").c_str(), (m_.mnt() / "x" / "y" / "b").c_str()), 0);
  EXPECT_EQ(readlink_errno(m_.mnt() / "x" / "y" / "b" / "c" / "l"), 0);
}

TEST_F(Objects, ALinkNeverServedMovesFreelyAndIsJudgedWhereItLands) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "a" / "b" / "c");
  ASSERT_EQ(::symlink("../../../t", (m_.mnt() / "a" / "b" / "c" / "l").c_str()), 0);
  ASSERT_EQ(::rename((m_.mnt() / "a" / "b" / "c").c_str(), (m_.mnt() / "c").c_str()), 0);
  EXPECT_EQ(readlink_errno(m_.mnt() / "c" / "l"), EACCES);
}

TEST_F(Objects, AServedDirectoryMovedUpOutsideIsNotShownAtItsNewPlace) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "a" / "b" / "c");
  write_file(m_.mnt() / "t", "top");
  ASSERT_EQ(::symlink("../../../t", (m_.mnt() / "a" / "b" / "c" / "l").c_str()), 0);
  // A working directory in c keeps the kernel's entry for it (and the daemon's node) alive.
  int cwd = ::open((m_.mnt() / "a" / "b" / "c").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(cwd, 0);
  char buf[64];
  ASSERT_EQ(::readlinkat(cwd, "l", buf, sizeof buf), 10);
  fs::rename(m_.backing() / "a" / "b" / "c", m_.backing() / "c");  // outside, straight up
  // The kernel would move its entry for c to the root, where ../../../t leads out.
  EXPECT_EQ(stat_errno(m_.mnt() / "c"), ENOENT);
  EXPECT_EQ(stat_errno(m_.mnt() / "c" / "l"), ENOENT);
  ::close(cwd);
}

TEST_F(Objects, AFifoCarriesDataBetweenProcessesOnTheMount) {
  ASSERT_TRUE(m_.ok());
  ASSERT_EQ(::mkfifo((m_.mnt() / "p").c_str(), 0600), 0);
  EXPECT_EQ(lstat_type(m_.mnt() / "p"), static_cast<mode_t>(S_IFIFO));
  pid_t writer = ::fork();
  if (writer == 0) {
    int fd = ::open((m_.mnt() / "p").c_str(), O_WRONLY);
    _exit(fd >= 0 && ::write(fd, "through the fifo", 16) == 16 ? 0 : 1);
  }
  EXPECT_EQ(read_file(m_.mnt() / "p"), "through the fifo");
  int status = 0;
  ASSERT_EQ(::waitpid(writer, &status, 0), writer);
  EXPECT_EQ(status, 0);
  struct stat st {};
  ASSERT_EQ(::lstat((m_.backing() / "p").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "a plain file on the host: nothing blocks on it there";
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(host_marker(m_.backing() / "p"), "fifo");
}

TEST_F(Objects, AUnixSocketBoundOnTheMountAcceptsConnections) {
  ASSERT_TRUE(m_.ok());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (m_.mnt() / "sock").string();
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << errno;
  ASSERT_EQ(::listen(server, 1), 0);
  EXPECT_EQ(lstat_type(m_.mnt() / "sock"), static_cast<mode_t>(S_IFSOCK));
  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << errno;
  int conn = ::accept(server, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  ASSERT_EQ(::write(client, "hello", 5), 5);
  char buf[8] = {};
  EXPECT_EQ(::read(conn, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
  ::close(conn);
  ::close(client);
  ::close(server);
  EXPECT_EQ(lstat_type(m_.backing() / "sock"), static_cast<mode_t>(S_IFREG));
  // Removed like any socket file before the next bind.
  ASSERT_EQ(::unlink(path.c_str()), 0);
}

TEST_F(Objects, FifoAndSocketFilesThisMountDidNotMakeThereArePlainFiles) {
  ASSERT_TRUE(m_.ok());
  forge(m_.backing() / "forged", "fifo", "");
  EXPECT_EQ(lstat_type(m_.mnt() / "forged"), static_cast<mode_t>(S_IFREG));
  ASSERT_EQ(::mkfifo((m_.mnt() / "p").c_str(), 0644), 0);
  ASSERT_EQ(lstat_type(m_.mnt() / "p"), static_cast<mode_t>(S_IFIFO));
  // Renamed outside into the name a session is about to open, or copied: never a FIFO to block
  // on. (O_NONBLOCK aside, open() of a FIFO without a writer would hang this test.)
  fs::rename(m_.backing() / "p", m_.backing() / "results.json");
  ASSERT_EQ(lstat_type(m_.mnt() / "results.json"), static_cast<mode_t>(S_IFREG));
  EXPECT_EQ(read_file(m_.mnt() / "results.json"), "");
  ASSERT_EQ(::mkfifo((m_.mnt() / "q").c_str(), 0644), 0);
  ASSERT_EQ(
      run_command({"cp", "-a", (m_.backing() / "q").string(), (m_.backing() / "q-copy").string()}),
      0);
  EXPECT_EQ(lstat_type(m_.mnt() / "q-copy"), static_cast<mode_t>(S_IFREG));
  EXPECT_EQ(lstat_type(m_.mnt() / "q"), static_cast<mode_t>(S_IFIFO));
}

TEST_F(Objects, ASecondMountOfTheSameBackingSeesTheFirstOnesFifoAsAPlainFile) {
  ASSERT_TRUE(m_.ok());
  ASSERT_EQ(::mkfifo((m_.mnt() / "p").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("p", (m_.mnt() / "l").c_str()), 0);
  Mount other(m_.backing(), {"-o", "cache=strict"});
  ASSERT_TRUE(other.ok());
  // A FIFO lives in one mount's kernel inode: opened through another mount it would never see
  // a writer. Links are plain data: served to every mount where they are contained.
  EXPECT_EQ(lstat_type(other.mnt() / "p"), static_cast<mode_t>(S_IFREG));
  EXPECT_EQ(readlink_of(other.mnt() / "l"), "p");
  EXPECT_EQ(lstat_type(m_.mnt() / "p"), static_cast<mode_t>(S_IFIFO));
}

// Threat 44: one user of an allow_other mount cannot use up the record of FIFOs and sockets for
// everyone (the previous build: one 65,536-place pool, and every other user's mkfifo and bind
// then failed with ENOSPC). Each user has a budget of its own (16,384).
TEST(ObjectsBudget, OneUserOverItsBudgetIsRefusedAlone) {
  Mount m({"-o", "allow_other,cache=strict"});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(::chmod(m.backing().parent_path().c_str(), 0755), 0);  // the test's own tree
  ASSERT_EQ(::chmod(m.mnt().c_str(), 0755), 0);
  fs::create_directories(m.backing() / "u");
  ASSERT_EQ(::chown((m.backing() / "u").c_str(), 12345, 12345), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(12345) != 0 || ::setuid(12345) != 0) _exit(10);
    int made = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string name = (m.mnt() / "u" / ("p" + std::to_string(i))).string();
      if (::mkfifo(name.c_str(), 0600) != 0) _exit(errno == ENOSPC && made == 16384 ? 0 : 11);
      ++made;
    }
    _exit(12);  // never refused
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: no setuid, 11: refused early or not ENOSPC, 12: never";
  // Root is another user: its FIFO and socket are made as usual.
  EXPECT_EQ(::mkfifo((m.mnt() / "root-fifo").c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_TRUE(fs::is_fifo(m.mnt() / "root-fifo"));
  // Records of files an outside process removed are dropped when their user runs out.
  for (int i = 0; i < 100; ++i) fs::remove(m.backing() / "u" / ("p" + std::to_string(i)));
  child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(12345) != 0 || ::setuid(12345) != 0) _exit(10);
    std::string name = (m.mnt() / "u" / "again").string();
    _exit(::mkfifo(name.c_str(), 0600) == 0 ? 0 : 11);
  }
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << WEXITSTATUS(status);
}

TEST_F(Objects, MarkerAttributesCanNeitherBeSeenNorSetThroughTheMount) {
  ASSERT_TRUE(m_.ok());
  write_file(m_.mnt() / "f", "x");
  ASSERT_EQ(::symlink("f", (m_.mnt() / "l").c_str()), 0);
  EXPECT_EQ(::setxattr((m_.mnt() / "f").c_str(), "user.confinefs.object", "symlink", 7, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(host_marker(m_.backing() / "f"), "");
  char v[64];
  EXPECT_EQ(::lgetxattr((m_.mnt() / "l").c_str(), "user.confinefs.object", v, sizeof v), -1);
  EXPECT_EQ(errno, ENODATA);
  char names[1024];
  ssize_t n = ::llistxattr((m_.mnt() / "l").c_str(), names, sizeof names);
  EXPECT_EQ(std::string(names, n > 0 ? static_cast<size_t>(n) : 0).find("confinefs"),
            std::string::npos);
  // And a chmod through the mount keeps the bit that marks a stored FIFO.
  ASSERT_EQ(::mkfifo((m_.mnt() / "p").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((m_.mnt() / "p").c_str(), 0600), 0);
  EXPECT_EQ(lstat_type(m_.mnt() / "p"), static_cast<mode_t>(S_IFIFO));
  struct stat st {};
  ASSERT_EQ(::lstat((m_.mnt() / "p").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // The FIFO's own sticky bit is the client's to set, apart from the host's marker bit.
  ASSERT_EQ(::chmod((m_.mnt() / "p").c_str(), 01621), 0);
  ASSERT_EQ(::lstat((m_.mnt() / "p").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01621u);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::chmod((m_.mnt() / "p").c_str(), 0644), 0);
  ASSERT_EQ(::lstat((m_.mnt() / "p").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(Objects, ListingsShowTheTypesFindAndLsRelyOn) {
  ASSERT_TRUE(m_.ok());
  fs::create_directories(m_.mnt() / "d");
  // Enough entries that the kernel reads the directory in more than one request (plain
  // READDIR after the first READDIRPLUS).
  for (int i = 0; i < 300; ++i) {
    write_file(m_.mnt() / "d" / ("file-with-a-long-name-" + std::to_string(i)), "");
  }
  ASSERT_EQ(::symlink("file-with-a-long-name-1", (m_.mnt() / "d" / "zz-link").c_str()), 0);
  ASSERT_EQ(::mkfifo((m_.mnt() / "d" / "zz-fifo").c_str(), 0644), 0);
  auto count = [&](const char* type) {
    return sh_out("find " + (m_.mnt() / "d").string() + " -type " + type + " | wc -l");
  };
  EXPECT_EQ(count("l"), "1\n");
  EXPECT_EQ(count("p"), "1\n");
  EXPECT_EQ(count("f"), "300\n");
}

TEST(ObjectsPolicy, RefusedKindsAreNeitherMadeNorShown) {
  PolicyMount p("version: 1\nlinks: refuse\nfifos: refuse\nsockets: refuse\n");
  ASSERT_TRUE(p.m().ok());
  EXPECT_EQ(errno_of([&] { return ::symlink("t", p.mnt("l").c_str()); }), EPERM);
  EXPECT_EQ(errno_of([&] { return ::mkfifo(p.mnt("p").c_str(), 0644); }), EPERM);
  EXPECT_EQ(errno_of([&] { return ::mknod(p.mnt("s").c_str(), S_IFSOCK | 0644, 0); }), EPERM);
  forge(p.backing("stored"), "symlink", "t");
  EXPECT_EQ(stat_errno(p.mnt("stored")), ENOENT);
}

TEST(ObjectsPolicy, RulesApplyToTheLinkAndToWhereItLeads) {
  PolicyMount p(
      "version: 1\nrules:\n  - {path: /secret, access: hidden}\n"
      "  - {path: /ro, access: read-only}\n");
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("secret"));
  write_file(p.backing("secret/token"), "TOKEN");
  fs::create_directories(p.backing("ro"));
  write_file(p.backing("ro/data"), "data");
  ASSERT_EQ(::symlink("secret/token", p.mnt("to-secret").c_str()), 0);
  EXPECT_EQ(open_errno(p.mnt("to-secret"), O_RDONLY), ENOENT);
  ASSERT_EQ(::symlink("ro/data", p.mnt("to-ro").c_str()), 0);
  EXPECT_EQ(read_file(p.mnt("to-ro")), "data");
  EXPECT_EQ(open_errno(p.mnt("to-ro"), O_WRONLY), EROFS);
  EXPECT_EQ(errno_of([&] { return ::symlink("x", p.mnt("ro/l").c_str()); }), EROFS);
}

TEST(ObjectsPolicy, LinksFifosAndSocketsCountAsInodes) {
  PolicyMount p("version: 1\nlimits: {quota_inodes: 3}\n");
  ASSERT_TRUE(p.m().ok());
  ASSERT_EQ(::symlink("a", p.mnt("l").c_str()), 0);
  ASSERT_EQ(::mkfifo(p.mnt("p").c_str(), 0644), 0);
  ASSERT_EQ(::mknod(p.mnt("s").c_str(), S_IFSOCK | 0644, 0), 0);
  EXPECT_EQ(errno_of([&] { return ::symlink("b", p.mnt("l2").c_str()); }), EDQUOT);
  ASSERT_EQ(::unlink(p.mnt("l").c_str()), 0);
  EXPECT_EQ(::symlink("b", p.mnt("l2").c_str()), 0);
}

}  // namespace
}  // namespace confinefs::testing
