// Through a real mount: every row of the core issue's two default-behaviour tables, and the
// command line's refusals (exit status 2, nothing mounted).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <set>
#include <sstream>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

class DefaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_.ok()) << "confinefs did not mount";
    write_file(m_.outside() / "secret", "SECRET");
  }
  Mount m_;
};

TEST_F(DefaultsTest, HostSymlinkIsInvisibleAndNeverFollowed) {
  fs::create_symlink(m_.outside() / "secret", m_.backing() / "link");
  fs::create_symlink("../outside/secret", m_.backing() / "rel");
  struct stat st {};
  EXPECT_EQ(::lstat((m_.mnt() / "link").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(names_in(m_.mnt()), std::set<std::string>{});
  EXPECT_NE(open_errno(m_.mnt() / "link", O_WRONLY | O_CREAT | O_TRUNC), 0);
  EXPECT_EQ(open_errno(m_.mnt() / "rel", O_WRONLY | O_CREAT | O_EXCL), EEXIST);
  write_file(m_.backing() / "mine", "mine");
  EXPECT_EQ(::rename((m_.mnt() / "mine").c_str(), (m_.mnt() / "link").c_str()), -1);
  EXPECT_EQ(read_file(m_.outside() / "secret"), "SECRET");
  EXPECT_TRUE(fs::is_symlink(m_.backing() / "link"));
}

TEST_F(DefaultsTest, SymlinkedDirectoryIsNotCrossed) {
  fs::create_directories(m_.outside() / "dir");
  write_file(m_.outside() / "dir" / "inner", "OUT");
  fs::create_directory_symlink(m_.outside() / "dir", m_.backing() / "d");
  EXPECT_NE(open_errno(m_.mnt() / "d" / "inner", O_RDONLY), 0);
  EXPECT_NE(open_errno(m_.mnt() / "d" / "new", O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(names_in(m_.outside() / "dir"), std::set<std::string>{"inner"});
}

TEST_F(DefaultsTest, SpecialFilesAreInvisibleAndNeverOpened) {
  ASSERT_EQ(::mkfifo((m_.backing() / "fifo").c_str(), 0666), 0);
  ASSERT_EQ(::mknod((m_.backing() / "sock").c_str(), S_IFSOCK | 0666, 0), 0);
  bool have_dev = ::mknod((m_.backing() / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  auto probe = std::async(std::launch::async, [&] {
    return open_errno(m_.mnt() / "fifo", O_RDONLY);  // would block forever if it were opened
  });
  ASSERT_EQ(probe.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(probe.get(), ENOENT);
  EXPECT_EQ(open_errno(m_.mnt() / "sock", O_RDONLY), ENOENT);
  if (have_dev) {
    EXPECT_EQ(open_errno(m_.mnt() / "null", O_RDONLY), ENOENT);
  }
  EXPECT_EQ(names_in(m_.mnt()), std::set<std::string>{});
}

TEST_F(DefaultsTest, OtherMountsInsideBackingAreInvisible) {
  fs::create_directories(m_.backing() / "bind");
  write_file(m_.outside() / "in-bind", "x");
  // On the mount the daemon serves from (underneath the bind over BACKING's path).
  auto point = m_.path_before("bind");
  ASSERT_EQ(::mount(m_.outside().c_str(), point.c_str(), nullptr, MS_BIND, nullptr), 0);
  struct stat st {};
  EXPECT_EQ(::stat((m_.mnt() / "bind").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(names_in(m_.mnt()), std::set<std::string>{});
  ::umount2(point.c_str(), MNT_DETACH);
}

TEST_F(DefaultsTest, MountPointsAppearingLaterLeaveLaterListingsToo) {
  // Past the first batch the kernel asks for plain READDIR, which skips the per-name statx while
  // no mount point can lie under BACKING. A bind mount made after a listing (so after the daemon
  // last read the mount table) must still be left out of the next one, and shown again once gone.
  const fs::path big = m_.backing() / "big";
  fs::create_directories(big);
  for (int i = 0; i < 3000; ++i) write_file(big / ("file-" + std::to_string(i)), "");
  fs::create_directories(big / "zz-bind");  // created last: listed in a late, plain batch
  EXPECT_EQ(names_in(m_.mnt() / "big").size(), 3001u);
  auto point = m_.path_before("big/zz-bind");
  ASSERT_EQ(::mount(m_.outside().c_str(), point.c_str(), nullptr, MS_BIND, nullptr), 0);
  auto names = names_in(m_.mnt() / "big");
  ::umount2(point.c_str(), MNT_DETACH);
  EXPECT_EQ(names.size(), 3000u);
  EXPECT_EQ(names.count("zz-bind"), 0u);
  EXPECT_EQ(names_in(m_.mnt() / "big").count("zz-bind"), 1u);
}

TEST_F(DefaultsTest, ARefusedHardlinkIsNeverOpenedOnTheHost) {
  // Opening a file that may be outside is an effect on it (watchers, leases, ETXTBSY): a name
  // known to have two links is refused before any open of the inode.
  ASSERT_EQ(m_.link_from_before(m_.outside() / "secret", "hl"), 0);
  int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, (m_.outside() / "secret").c_str(), IN_OPEN | IN_CLOSE), 0);
  EXPECT_EQ(open_errno(m_.mnt() / "hl", O_WRONLY), EACCES);
  EXPECT_EQ(open_errno(m_.mnt() / "hl", O_RDONLY), EACCES);
  EXPECT_EQ(::truncate((m_.mnt() / "hl").c_str(), 0), -1);
  char events[4096];
  ssize_t n = ::read(watch, events, sizeof events);
  EXPECT_EQ(n, -1) << "the outside file was opened " << n / sizeof(inotify_event) << "+ times";
  ::close(watch);
}

TEST_F(DefaultsTest, HardlinkedFileIsVisibleButRefusedExceptUnlinkAndRename) {
  ASSERT_EQ(m_.link_from_before(m_.outside() / "secret", "hl"), 0);
  auto p = m_.mnt() / "hl";
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(open_errno(p, O_RDONLY), EACCES);
  EXPECT_EQ(open_errno(p, O_WRONLY), EACCES);
  EXPECT_EQ(open_errno(p, O_WRONLY | O_TRUNC), EACCES);
  EXPECT_EQ(::truncate(p.c_str(), 0), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(::chmod(p.c_str(), 0777), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(::chown(p.c_str(), 0, 0), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(::utimensat(AT_FDCWD, p.c_str(), nullptr, 0), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(::setxattr(p.c_str(), "user.x", "1", 1, 0), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(read_file(m_.outside() / "secret"), "SECRET");
  EXPECT_EQ(fs::status(m_.outside() / "secret").permissions(), fs::perms(0644));
  ASSERT_EQ(::rename(p.c_str(), (m_.mnt() / "hl2").c_str()), 0);
  ASSERT_EQ(::unlink((m_.mnt() / "hl2").c_str()), 0);
  EXPECT_EQ(read_file(m_.outside() / "secret"), "SECRET");
}

TEST_F(DefaultsTest, HardlinksDevicesAndLinksLeadingOutAreEperm) {
  write_file(m_.mnt() / "f", "x");
  EXPECT_EQ(::symlink("/etc/passwd", (m_.mnt() / "s").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::symlink("../outside", (m_.mnt() / "s").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::link((m_.mnt() / "f").c_str(), (m_.mnt() / "h").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::mknod((m_.mnt() / "c").c_str(), S_IFCHR | 0644, makedev(1, 3)), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::mknod((m_.mnt() / "b").c_str(), S_IFBLK | 0644, makedev(7, 0)), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(names_in(m_.backing()), std::set<std::string>{"f"});
}

TEST_F(DefaultsTest, SetuidAndSetgidAreNeverStored) {
  write_file(m_.mnt() / "f", "x");
  ASSERT_EQ(::chmod((m_.mnt() / "f").c_str(), 06755), 0);
  struct stat st {};
  ASSERT_EQ(::stat((m_.backing() / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  int fd = ::open((m_.mnt() / "g").c_str(), O_CREAT | O_WRONLY, 04755);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::stat((m_.backing() / "g").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & S_ISUID, 0u);
}

TEST_F(DefaultsTest, ChownToAnotherUserIsEperm) {
  write_file(m_.mnt() / "f", "x");
  EXPECT_EQ(::chown((m_.mnt() / "f").c_str(), 1234, -1), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::chown((m_.mnt() / "f").c_str(), -1, 1234), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(fs::status(m_.backing() / "f").permissions(), fs::status(m_.mnt() / "f").permissions());
}

TEST_F(DefaultsTest, OnlyUserXattrs) {
  write_file(m_.mnt() / "f", "x");
  auto p = m_.mnt() / "f";
  ASSERT_EQ(::setxattr((m_.backing() / "f").c_str(), "trusted.t", "T", 1, 0), 0);
  ASSERT_EQ(::setxattr(p.c_str(), "user.a", "1", 1, 0), 0);
  char buf[64];
  EXPECT_EQ(::getxattr(p.c_str(), "user.a", buf, sizeof buf), 1);
  // As a filesystem without those namespaces answers (EOPNOTSUPP): overlayfs on top, and
  // xfstests, then skip trusted.* instead of failing.
  EXPECT_EQ(::setxattr(p.c_str(), "trusted.x", "1", 1, 0), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(::setxattr(p.c_str(), "security.evil", "1", 1, 0), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(::getxattr(p.c_str(), "trusted.t", buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(::removexattr(p.c_str(), "trusted.t"), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  ssize_t n = ::listxattr(p.c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), std::string("user.a", 7));
  EXPECT_EQ(::removexattr(p.c_str(), "user.a"), 0);
}

TEST_F(DefaultsTest, RenameFlagsAreHonoured) {
  write_file(m_.mnt() / "a", "A");
  write_file(m_.mnt() / "b", "B");
  EXPECT_EQ(::renameat2(AT_FDCWD, (m_.mnt() / "a").c_str(), AT_FDCWD, (m_.mnt() / "b").c_str(),
                        RENAME_NOREPLACE),
            -1);
  EXPECT_EQ(errno, EEXIST);
  ASSERT_EQ(::renameat2(AT_FDCWD, (m_.mnt() / "a").c_str(), AT_FDCWD, (m_.mnt() / "b").c_str(),
                        RENAME_EXCHANGE),
            0);
  EXPECT_EQ(read_file(m_.backing() / "a"), "B");
  EXPECT_EQ(::renameat2(AT_FDCWD, (m_.mnt() / "a").c_str(), AT_FDCWD, (m_.mnt() / "c").c_str(),
                        RENAME_WHITEOUT),
            -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(DefaultsTest, OutsideWriteIsSeenOnTheNextOpen) {
  // cache=auto keeps the kernel's pages only while mtime, ctime and size are as at the last open.
  write_file(m_.backing() / "shared", "version-1");
  EXPECT_EQ(read_file(m_.mnt() / "shared"), "version-1");
  EXPECT_EQ(read_file(m_.mnt() / "shared"), "version-1");  // second open: pages may be kept
  write_file(m_.backing() / "shared", "version-2");        // an outside writer, same size
  EXPECT_EQ(read_file(m_.mnt() / "shared"), "version-2");
}

// Reads a 4 MiB file through the mount, opens it again and reports how many of its pages the
// kernel still has cached after that open (mincore on a mapping): keep_cache decides it.
size_t pages_kept_across_open(Mount& m) {
  constexpr size_t kSize = 4 << 20;
  write_file(m.backing() / "big", std::string(kSize, 'x'));
  EXPECT_EQ(read_file(m.mnt() / "big").size(), kSize);
  int fd = ::open((m.mnt() / "big").c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  void* map = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_NE(map, MAP_FAILED);
  std::vector<unsigned char> resident(kSize / static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(::mincore(map, kSize, resident.data()), 0);
  ::munmap(map, kSize);
  ::close(fd);
  size_t kept = 0;
  for (unsigned char r : resident) kept += r & 1;
  return kept;
}

// The kernel's FUSE page cache: only opens that go through the daemon have one (a passthrough
// open maps the host file's own pages), so both mounts serve data through the daemon here.
TEST(CacheModeTest, AutoKeepsPagesOfAnUnchangedFileStrictDoesNot) {
  Mount strict({"-o", "cache=strict,passthrough=off"});
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(pages_kept_across_open(strict), 0u) << "strict must drop the pages at open";
  Mount automatic({"-o", "cache=auto,passthrough=off"});
  ASSERT_TRUE(automatic.ok());
  EXPECT_GT(pages_kept_across_open(automatic), 512u) << "auto must keep an unchanged file's pages";
}

// Writes through fd at offset off (or at the end for O_APPEND fds, off ignored), then closes it.
void write_and_close(int fd, const std::string& data, off_t off) {
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), off), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::close(fd), 0);
}

TEST(CacheModeTest, FullBuffersWritesAndKeepsAppendAndPartialPagesExact) {
  // cache=full turns on the kernel's writeback cache. The kernel then writes whole pages at
  // offsets it chooses: a host fd opened O_APPEND would put them all at the end, and a host fd
  // opened write-only could not fill a partially written page.
  Mount m({"-o", "cache=full"});
  ASSERT_TRUE(m.ok());
  write_file(m.backing() / "log", "hello");
  write_and_close(::open((m.mnt() / "log").c_str(), O_WRONLY | O_APPEND), "-world", 0);
  write_and_close(::open((m.mnt() / "log").c_str(), O_WRONLY | O_APPEND), "!", 0);
  EXPECT_EQ(read_file(m.backing() / "log"), "hello-world!");

  std::string page(8192, 'a');
  write_file(m.backing() / "patch", page);
  write_and_close(::open((m.mnt() / "patch").c_str(), O_WRONLY), "XYZ", 4095);
  page.replace(4095, 3, "XYZ");
  EXPECT_EQ(read_file(m.backing() / "patch"), page);

  int fd = ::open((m.mnt() / "new").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  write_and_close(fd, "fresh", 0);
  EXPECT_EQ(read_file(m.backing() / "new"), "fresh");
  EXPECT_EQ(open_errno(m.mnt() / "new", O_WRONLY), 0);
}

TEST_F(DefaultsTest, MountIsNosuidNodevWithDefaultPermissions) {
  std::string found = mountinfo_line(m_.mnt());
  ASSERT_FALSE(found.empty());
  EXPECT_NE(found.find("nosuid"), std::string::npos) << found;
  EXPECT_NE(found.find("nodev"), std::string::npos) << found;
  EXPECT_NE(found.find("default_permissions"), std::string::npos) << found;
  EXPECT_NE(found.find("fuse.confinefs"), std::string::npos) << found;
}

// The mountinfo fields after the mount point: the per-mount options, then (after " - ") the
// filesystem type, the source and the superblock's options.
struct MountFields {
  std::set<std::string> mount_options, super_options;
  std::string source;
};

MountFields mount_fields(const std::string& line) {
  auto words = [](const std::string& csv) {
    std::set<std::string> out;
    std::istringstream in(csv);
    for (std::string w; std::getline(in, w, ',');) out.insert(w);
    return out;
  };
  std::istringstream in(line);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  auto dash = std::find(f.begin(), f.end(), "-");
  MountFields out;
  if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) return out;
  out.mount_options = words(f[5]);
  out.source = dash[2];
  out.super_options = words(dash[3]);
  return out;
}

TEST(MountOptionsTest, EveryPassedOptionReachesTheKernelAndTheLastWordWins) {
  Mount m({"-o",
           "noexec,exec,noexec,rw,ro,strictatime,noatime,nodiratime,sync,dirsync,"
           "lazytime,allow_other,fsname=tenant-a"});
  ASSERT_TRUE(m.ok());
  auto f = mount_fields(mountinfo_line(m.mnt()));
  for (const char* o : {"ro", "noexec", "noatime", "nodiratime", "nosuid", "nodev"}) {
    EXPECT_TRUE(f.mount_options.contains(o)) << o;
  }
  for (const char* o :
       {"ro", "sync", "dirsync", "lazytime", "allow_other", "default_permissions"}) {
    EXPECT_TRUE(f.super_options.contains(o)) << o;
  }
  EXPECT_EQ(f.source, "tenant-a");
  EXPECT_EQ(open_errno(m.mnt() / "new", O_WRONLY | O_CREAT), EROFS);

  Mount undone({"-o", "ro,rw,noexec,exec,sync,async"});
  ASSERT_TRUE(undone.ok());
  f = mount_fields(mountinfo_line(undone.mnt()));
  EXPECT_TRUE(f.mount_options.contains("rw"));
  EXPECT_FALSE(f.mount_options.contains("noexec"));
  EXPECT_FALSE(f.super_options.contains("sync"));
  EXPECT_EQ(f.source, "confinefs");
  EXPECT_EQ(open_errno(undone.mnt() / "new", O_WRONLY | O_CREAT), 0);
}

TEST(MountOptionsTest, OptionsOnlyLibfuseImplementsStillMountNosuidNodev) {
  // allow_root and auto_unmount are libfuse's own machinery, so libfuse mounts these.
  Mount m({"-o", "allow_root,auto_unmount"});
  ASSERT_TRUE(m.ok());
  auto f = mount_fields(mountinfo_line(m.mnt()));
  EXPECT_TRUE(f.mount_options.contains("nosuid"));
  EXPECT_TRUE(f.mount_options.contains("nodev"));
  EXPECT_TRUE(f.super_options.contains("default_permissions"));
  write_file(m.mnt() / "f", "served");
  EXPECT_EQ(read_file(m.backing() / "f"), "served");
  // libfuse 3.14 knows no nodiratime: said so, and nothing is mounted.
  Mount refused({"-o", "allow_root,nodiratime"});
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(is_mounted(refused.mnt()));
}

// Command-line refusals: a one-line error and exit status 2, nothing mounted.
class CommandLineTest : public ::testing::Test {
 protected:
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), confinefs_binary());
    return run_command(args);
  }
  TempTree t_;
};

TEST_F(CommandLineTest, RefusalsExitWithStatus2AndMountNothing) {
  auto b = t_.path() / "b";
  auto m = t_.path() / "m";
  fs::create_directories(b / "inner");
  fs::create_directories(m);
  write_file(t_.path() / "file", "x");
  fs::create_directory_symlink(b, t_.path() / "link");
  EXPECT_EQ(run({"-f", "-o", "bogus", b, m}), 2);
  EXPECT_EQ(run({"-f", "-o", "max_read=65536", b, m}), 2);  // libfuse's INIT would fail
  EXPECT_EQ(run({"-f", "-o", "blksize=4096", b, m}), 2);    // block-device FUSE only
  EXPECT_EQ(run({"-f", "--no-such-flag", b, m}), 2);
  EXPECT_EQ(run({"-f", t_.path() / "missing", m}), 2);
  EXPECT_EQ(run({"-f", t_.path() / "file", m}), 2);
  EXPECT_EQ(run({"-f", t_.path() / "link", m}), 2);
  EXPECT_EQ(run({"-f", b, b / "inner"}), 2);
  EXPECT_EQ(run({"-f", b, b}), 2);
  EXPECT_EQ(run({"-f", b}), 2);
  EXPECT_FALSE(is_mounted(m));
  EXPECT_FALSE(is_mounted(b / "inner"));
  EXPECT_FALSE(is_mounted(b));
}

TEST_F(CommandLineTest, HelpAndVersion) {
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(run({"-V"}), 0);
}

TEST_F(CommandLineTest, BackgroundDaemonServesAndUnmountEndsIt) {
  auto b = t_.path() / "b";
  auto m = t_.path() / "m";
  fs::create_directories(b);
  fs::create_directories(m);
  write_file(b / "f", "content");
  ASSERT_EQ(run({b, m}), 0);  // daemonizes; returns once mounted
  ASSERT_TRUE(is_mounted(m));
  EXPECT_EQ(read_file(m / "f"), "content");
  write_file(m / "g", "new");
  EXPECT_EQ(read_file(b / "g"), "new");
  EXPECT_EQ(run_command({"fusermount3", "-u", m}), 0);
}

// Starts `confinefs -f backing mnt` and returns its pid once a read of mnt/f succeeds through it
// (so it is serving, past everything it does at start), or -1.
pid_t start_serving(const fs::path& backing, const fs::path& mnt) {
  auto env = daemon_environment();
  pid_t pid = ::fork();
  if (pid == 0) exec_daemon({confinefs_binary(), "-f", backing, mnt}, env);
  for (int i = 0; pid > 0 && i < 500; ++i) {
    if (is_mounted(mnt) && open_errno(mnt / "f", O_RDONLY) == 0) return pid;
    ::usleep(10000);
  }
  return -1;
}

// Starts `confinefs -f backing mnt` under ptrace and returns with the daemon held at the first
// stop `here` accepts (called at every syscall entry and exit with the syscall number), or -1.
// Whatever happens meanwhile happens between two of the daemon's steps, as a preempted daemon
// would see it.
pid_t start_held(const fs::path& backing, const fs::path& mnt,
                 const std::function<bool(const __ptrace_syscall_info&, uint64_t nr)>& here) {
  auto env = daemon_environment();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    exec_daemon({confinefs_binary(), "-f", backing, mnt}, env);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) return -1;  // at exec
  ::ptrace(PTRACE_SETOPTIONS, pid, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
  uint64_t nr = 0;
  for (;;) {
    if (::ptrace(PTRACE_SYSCALL, pid, nullptr, nullptr) != 0) return -1;
    if (::waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) return -1;
    if (WSTOPSIG(status) != (SIGTRAP | 0x80)) continue;
    __ptrace_syscall_info info{};
    ::ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) nr = info.entry.nr;
    if (here(info, nr)) return pid;
  }
}

// Held right after its FUSE mount syscall (mount(2) by libfuse, or the move_mount that follows
// fsmount; BACKING's bind onto itself is an open_tree and a move_mount before that) succeeded.
pid_t start_held_after_mount(const fs::path& backing, const fs::path& mnt) {
  return start_held(backing, mnt,
                    [made = false](const __ptrace_syscall_info& info, uint64_t nr) mutable {
                      if (info.op == PTRACE_SYSCALL_INFO_EXIT && nr == SYS_fsmount) made = true;
                      return info.op == PTRACE_SYSCALL_INFO_EXIT && info.exit.rval == 0 &&
                             (nr == SYS_mount || (nr == SYS_move_mount && made));
                    });
}

TEST_F(CommandLineTest, TheMountLandsOnTheCheckedDirectoryWhenItsPathIsSwapped) {
  // threat 4: MOUNTPOINT is checked not to be BACKING or inside it. Swapping a component of
  // its path for a symlink into BACKING after that check must not move the mount there (a mount
  // inside its own backing directory would see itself).
  auto b = t_.path() / "b";
  auto p = t_.path() / "p";
  fs::create_directories(b / "m");
  fs::create_directories(p / "m");
  write_file(b / "f", "x");
  // Held when it starts making the mount, after every check.
  pid_t daemon = start_held(b, p / "m", [](const __ptrace_syscall_info& info, uint64_t nr) {
    return info.op == PTRACE_SYSCALL_INFO_ENTRY && (nr == SYS_fsopen || nr == SYS_mount);
  });
  ASSERT_GT(daemon, 0);
  fs::rename(p, t_.path() / "p-checked");
  fs::create_directory_symlink(b, p);
  ASSERT_EQ(::ptrace(PTRACE_DETACH, daemon, nullptr, nullptr), 0);
  auto checked = t_.path() / "p-checked" / "m";
  for (int i = 0; i < 500 && !is_mounted(checked) && !is_mounted(b / "m"); ++i) ::usleep(10000);
  EXPECT_FALSE(is_mounted(b / "m")) << "the mount went inside BACKING";
  EXPECT_TRUE(is_mounted(checked));
  for (const auto& at : {checked, b / "m"}) ::umount2(at.c_str(), MNT_DETACH);
  int status = wait_exit(daemon);
  if (!WIFEXITED(status)) ::kill(daemon, SIGKILL);
}

TEST_F(CommandLineTest, AMountpointThatIsASymlinkIsRefused) {
  // One tenant's MOUNTPOINT is a symlink to another tenant's live mount: the live-mount check
  // looks at the link, so following it would stack this mount on the other one.
  auto b1 = t_.path() / "b1", b2 = t_.path() / "b2", m = t_.path() / "m";
  for (const auto& d : {b1, b2, m}) fs::create_directories(d);
  write_file(b1 / "f", "B");
  pid_t other = start_serving(b1, m);
  ASSERT_GT(other, 0);
  fs::create_directory_symlink(m, t_.path() / "link");
  // Not -f: should the refusal fail, the daemon detaches instead of holding the test.
  EXPECT_EQ(run({b2, t_.path() / "link"}), 2);
  EXPECT_EQ(run({b2, (t_.path() / "link").string() + "/"}), 2);
  EXPECT_EQ(read_file(m / "f"), "B") << "another mount landed on the live one";
  EXPECT_EQ(read_file(m / "f"), read_file(b1 / "f"));
  ::kill(other, SIGTERM);
  wait_exit(other);
}

// status and unmount-stale name the mount as start-up does: a MOUNTPOINT whose last component is
// a symlink is refused (exit 2), never followed to whatever mount it leads to.
TEST_F(CommandLineTest, StatusAndUnmountStaleRefuseASymlinkMountpoint) {
  auto b1 = t_.path() / "b1", m = t_.path() / "m";
  for (const auto& d : {b1, m}) fs::create_directories(d);
  write_file(b1 / "f", "B");
  pid_t other = start_serving(b1, m);
  ASSERT_GT(other, 0);
  fs::create_directory_symlink(m, t_.path() / "link");
  std::string bin = confinefs_binary();
  EXPECT_EQ(run_command({bin, "status", (t_.path() / "link").string()}), 2);
  EXPECT_EQ(run_command({bin, "unmount-stale", (t_.path() / "link").string() + "/"}), 2);
  EXPECT_EQ(run_command({bin, "status", m.string()}), 0);
  EXPECT_EQ(read_file(m / "f"), "B");
  ::kill(other, SIGTERM);
  wait_exit(other);
}

// The unmount helper acts on the directory start-up checked, found from its held parent, not on
// the path: after the parent directory is renamed and another mount made at the old path, the
// daemon's exit removes its own mount (now under the new name) and leaves the other one.
TEST_F(CommandLineTest, TheUnmountHelperActsOnTheCheckedDirectoryNotThePath) {
  auto b1 = t_.path() / "b1", b2 = t_.path() / "b2", parent = t_.path() / "p";
  for (const auto& d : {b1, b2, parent / "m"}) fs::create_directories(d);
  write_file(b1 / "f", "one");
  write_file(b2 / "f", "two");
  pid_t first = start_serving(b1, parent / "m");
  ASSERT_GT(first, 0);
  fs::rename(parent, t_.path() / "p-moved");
  fs::create_directories(parent / "m");
  pid_t second = start_serving(b2, parent / "m");
  ASSERT_GT(second, 0);
  ::kill(first, SIGTERM);
  int status = wait_exit(first);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(eventually([&] { return !is_mounted(t_.path() / "p-moved/m"); }))
      << "the first daemon's mount was left behind";
  EXPECT_EQ(read_file(parent / "m/f"), "two");
  ::kill(second, SIGTERM);
  wait_exit(second);
  EXPECT_FALSE(is_mounted(parent / "m"));
}

// Unmounted from outside, a daemon asks its unmount helper to clean up; by then a new mount may
// sit at the same path, which must survive the old daemon's exit.
class OldDaemonTest : public CommandLineTest {
 protected:
  void SetUp() override {
    fs::create_directories(b_old_);
    fs::create_directories(b_new_);
    fs::create_directories(m_);
    write_file(b_old_ / "f", "old");
    write_file(b_new_ / "f", "new");
  }
  // Replaces the old daemon's mount with a new daemon's, resumes the old daemon with `resume`
  // and checks that the new mount outlives it.
  void expect_new_mount_survives(pid_t old, int umount_flags, const std::function<void()>& resume) {
    // umount(2) itself: umount(8) would stat the path first, and the held daemon never answers.
    ASSERT_EQ(::umount2(m_.c_str(), umount_flags), 0) << std::strerror(errno);
    ASSERT_EQ(run({b_new_, m_}), 0);
    resume();
    int status = wait_exit(old);
    EXPECT_TRUE(WIFEXITED(status)) << "the old daemon did not exit";
    ::usleep(200000);  // its helper acts after the daemon asks or exits
    EXPECT_TRUE(is_mounted(m_));
    EXPECT_EQ(read_file(m_ / "f"), "new");
    run_command({"umount", m_});
  }
  fs::path b_old_ = t_.path() / "b-old", b_new_ = t_.path() / "b-new", m_ = t_.path() / "m";
};

TEST_F(OldDaemonTest, StoppedWhileServingItNeverUnmountsTheNewMount) {
  // mountinfo gives the next mount the id of the one just removed, so the new mount looks like
  // the old one there; only the never-reused unique mount id tells them apart.
  pid_t old = start_serving(b_old_, m_);
  ASSERT_GT(old, 0);
  ::kill(old, SIGSTOP);  // the old daemon notices the unmount only after the new mount exists
  expect_new_mount_survives(old, 0, [&] { ::kill(old, SIGCONT); });
}

TEST_F(OldDaemonTest, HeldRightAfterMountingItNeverUnmountsTheNewMount) {
  // Preempted between its mount syscall and noting which mount it made, a daemon that reads that
  // back from the path would note the new mount.
  pid_t old = start_held_after_mount(b_old_, m_);
  ASSERT_GT(old, 0);
  ASSERT_TRUE(is_mounted(m_));
  // Lazily: the held daemon may still have its new mount's fd open, which makes it busy.
  expect_new_mount_survives(old, MNT_DETACH,
                            [&] { ASSERT_EQ(::ptrace(PTRACE_DETACH, old, nullptr, nullptr), 0); });
}

TEST_F(CommandLineTest, AStoppedDaemonsMountIsReportedNotWaitedOn) {
  // statfs on a mount whose daemon is stopped waits as long as the daemon does; status, start-up
  // and unmount-stale give up after a few seconds and say so. timeout(1) turns a hang into 124.
  auto b = t_.path() / "b";
  auto m = t_.path() / "m";
  fs::create_directories(b);
  fs::create_directories(m);
  write_file(b / "f", "x");
  pid_t daemon = start_serving(b, m);
  ASSERT_GT(daemon, 0);
  ::kill(daemon, SIGSTOP);
  std::string bin = confinefs_binary();
  EXPECT_EQ(run_command({"timeout", "60", bin, "status", m}), 1);
  EXPECT_EQ(run_command({"timeout", "60", bin, "-f", b, m}), 2);
  EXPECT_EQ(run_command({"timeout", "60", bin, "unmount-stale", m}), 1);
  EXPECT_TRUE(is_mounted(m)) << "a silent daemon's mount is not stale";
  ::kill(daemon, SIGCONT);
  EXPECT_EQ(run_command({"timeout", "60", bin, "status", m}), 0);
  EXPECT_EQ(::umount2(m.c_str(), 0), 0);
  int status = -1;
  EXPECT_EQ(::waitpid(daemon, &status, 0), daemon);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(CommandLineTest, MountHelperForm) {
  // mount -t fuse.confinefs BACKING MNT (and fstab) run mount.fuse3, which runs "confinefs" from
  // PATH with "dev,suid" added for root; the mount must still be nosuid,nodev.
  auto b = t_.path() / "b";
  auto m = t_.path() / "m";
  auto bin = t_.path() / "bin";
  fs::create_directories(b);
  fs::create_directories(m);
  fs::create_directories(bin);
  fs::create_symlink(confinefs_binary(), bin / "confinefs");
  write_file(b / "f", "via helper");
  std::string path = bin.string() + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "");
  // With drop_privileges the helper mounts by itself with the given options only, so confinefs
  // insists on seeing its three safety options there, and refuses (nothing served) without them.
  EXPECT_NE(run_command({"env", "PATH=" + path, "mount.fuse3", b, m, "-t", "confinefs", "-o",
                         "allow_other,drop_privileges"}),
            0);
  run_command({"umount", "-l", m});
  for (const char* extra :
       {"allow_other", "allow_other,default_permissions,nosuid,nodev,drop_privileges"}) {
    SCOPED_TRACE(extra);
    // drop_privileges makes mount.fuse3 mount itself and pass the mountpoint as /dev/fd/N.
    ASSERT_EQ(
        run_command({"env", "PATH=" + path, "mount.fuse3", b, m, "-t", "confinefs", "-o", extra}),
        0);
    ASSERT_TRUE(is_mounted(m));
    EXPECT_EQ(read_file(m / "f"), "via helper");
    std::string found = mountinfo_line(m);
    EXPECT_NE(found.find("nosuid"), std::string::npos) << found;
    EXPECT_NE(found.find("nodev"), std::string::npos) << found;
    EXPECT_EQ(run_command({"umount", m}), 0);
  }
}

}  // namespace
}  // namespace confinefs::testing
