// FUSE passthrough on a real mount (fuse/passthrough.h): the kernel reads and writes regular
// files straight from the daemon's verified host fd. What a client sees: an outside writer's
// bytes at once (no FUSE page cache in between), mmap, writes that land on the host file; byte
// limits still counted (such opens go through the daemon); no open of a file ever failing with
// EIO because another open of it is served the other way; and the registrar process that holds
// CAP_SYS_ADMIN for it, confined and gone with its daemon.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "tests/integration/policy_support.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

constexpr size_t kSize = 64 * 1024;

std::string pread_all(int fd, size_t n) {
  std::string out(n, '\0');
  ssize_t got = ::pread(fd, out.data(), n, 0);
  out.resize(got < 0 ? 0 : static_cast<size_t>(got));
  return out;
}

// status says passthrough=pending until the kernel's INIT has been answered.
bool passthrough_is(const fs::path& mnt, const std::string& state) {
  return eventually([&] { return status_field(mnt, "passthrough") == state; });
}

// Another process writes the host file in place (same size, so only the bytes change).
void overwrite_on_host(const fs::path& p, const std::string& content) {
  int fd = ::open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::pwrite(fd, content.data(), content.size(), 0), ssize_t(content.size()));
  ::close(fd);
}

// Reads a file of 'a's through one open fd, lets another process overwrite the host file with
// 'b's, and reads again through the same fd: what the second read returns.
std::string second_read_across_an_outside_write(const Mount& m) {
  write_file(m.backing() / "f", std::string(kSize, 'a'));
  int fd = ::open((m.mnt() / "f").c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(pread_all(fd, kSize), std::string(kSize, 'a'));
  overwrite_on_host(m.backing() / "f", std::string(kSize, 'b'));
  std::string second = pread_all(fd, kSize);
  ::close(fd);
  return second;
}

TEST(Passthrough, IsOnAndReadsSeeAnOutsideWriterAtOnce) {
  Mount m;
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(passthrough_is(m.mnt(), "on"));
  EXPECT_EQ(second_read_across_an_outside_write(m), std::string(kSize, 'b'));
}

// The contrast, and the proof that the test above looks at passthrough: through the daemon,
// the kernel's page cache keeps the bytes it read until the attribute timeout.
TEST(Passthrough, ThroughTheDaemonTheKernelCacheKeepsWhatItRead) {
  Mount m({"-o", "passthrough=off"});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(passthrough_is(m.mnt(), "off"));
  EXPECT_EQ(second_read_across_an_outside_write(m), std::string(kSize, 'a'));
}

TEST(Passthrough, WritesAndSharedMappingsLandOnTheHostFile) {
  Mount m;
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(passthrough_is(m.mnt(), "on"));
  int fd = ::open((m.mnt() / "new").c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0);
  std::string data = pattern(kSize, 7);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), ssize_t(data.size()));
  EXPECT_EQ(read_file(m.backing() / "new"), data);  // before any close or fsync
  void* map = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
  std::memcpy(map, "mapped", 6);
  ASSERT_EQ(::msync(map, kSize, MS_SYNC), 0);
  ::munmap(map, kSize);
  EXPECT_EQ(read_file(m.backing() / "new").substr(0, 6), "mapped");
  ::close(fd);
  struct stat st {};
  ASSERT_EQ(::stat((m.mnt() / "new").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), kSize);
}

// Byte limits count every byte written, so no open passes through while they are in force (the
// kernel requires every open of a file to pass through once one does): writes are counted, and
// mixed opens of one file (read, write, O_DIRECT) all open.
TEST(Passthrough, ByteLimitsKeepDataInTheDaemon) {
  PolicyMount p("version: 1\nlimits: {quota_bytes: 1M}\n", {"-o", "cache=auto"});
  ASSERT_TRUE(p.m().ok());
  ASSERT_TRUE(passthrough_is(p.m().mnt(), "on"));
  write_file(p.mnt("f"), std::string(kSize, 'a'));
  int reader = ::open(p.mnt("f").c_str(), O_RDONLY);
  ASSERT_GE(reader, 0) << std::strerror(errno);
  int writer = ::open(p.mnt("f").c_str(), O_WRONLY);
  ASSERT_GE(writer, 0) << std::strerror(errno);
  int direct = ::open(p.mnt("f").c_str(), O_RDONLY | O_DIRECT);
  EXPECT_GE(direct, 0) << std::strerror(errno);
  std::string big(2 << 20, 'x');
  errno = 0;
  ssize_t n = ::pwrite(writer, big.data(), big.size(), 0);
  int err = errno;
  EXPECT_TRUE(n < 0 ? err == EDQUOT : size_t(n) < big.size()) << n << " " << std::strerror(err);
  ASSERT_EQ(::pwrite(writer, "bb", 2, 0), 2);
  EXPECT_EQ(pread_all(reader, 2), "bb");
  for (int fd : {reader, writer, direct}) ::close(fd);
}

// Without byte limits every open passes through, O_DIRECT ones too (the kernel reopens the host
// file with the client's flags): any mix of opens of one file opens and sees one content.
TEST(Passthrough, MixedOpensOfOneFileShareTheHostFile) {
  Mount m;
  ASSERT_TRUE(m.ok());
  write_file(m.backing() / "f", std::string(kSize, 'a'));
  int reader = ::open((m.mnt() / "f").c_str(), O_RDONLY);
  int writer = ::open((m.mnt() / "f").c_str(), O_WRONLY | O_APPEND);
  int direct = ::open((m.mnt() / "f").c_str(), O_RDWR | O_DIRECT);
  ASSERT_GE(reader, 0) << std::strerror(errno);
  ASSERT_GE(writer, 0) << std::strerror(errno);
  ASSERT_GE(direct, 0) << std::strerror(errno);
  void* block = nullptr;
  ASSERT_EQ(::posix_memalign(&block, 4096, 4096), 0);
  std::memset(block, 'd', 4096);
  EXPECT_EQ(::pwrite(direct, block, 4096, 0), 4096) << std::strerror(errno);
  std::free(block);
  EXPECT_EQ(::write(writer, "end", 3), 3);
  std::string seen = pread_all(reader, kSize + 3);
  EXPECT_EQ(seen.substr(0, 4096), std::string(4096, 'd'));
  EXPECT_EQ(seen.substr(kSize), "end");
  for (int fd : {reader, writer, direct}) ::close(fd);
}

TEST(Passthrough, CacheFullAndOffNeverUseItAndRequireRefusesWhatCannotWork) {
  {
    Mount full({"-o", "cache=full"});
    ASSERT_TRUE(full.ok());
    EXPECT_TRUE(passthrough_is(full.mnt(), "unavailable"));
  }
  TempTree t;
  fs::create_directories(t.path() / "b");
  fs::create_directories(t.path() / "m");
  EXPECT_EQ(run_command({confinefs_binary(), "-f", "-o", "passthrough=require,cache=full",
                         (t.path() / "b").string(), (t.path() / "m").string()}),
            2);
  EXPECT_FALSE(is_mounted(t.path() / "m"));
}

// A BACKING on a stacked filesystem: the kernel refuses its files as backing files (ELOOP, the
// mount's stack depth is 1), and those opens go through the daemon instead of failing.
TEST(Passthrough, OnAStackedBackingOpensGoThroughTheDaemon) {
  TempTree t;
  for (const char* d : {"lower", "upper", "work", "ovl"}) fs::create_directories(t.path() / d);
  write_file(t.path() / "lower/f", "lower");
  fs::path ovl = t.path() / "ovl";
  std::string opts = "lowerdir=" + (t.path() / "lower").string() +
                     ",upperdir=" + (t.path() / "upper").string() +
                     ",workdir=" + (t.path() / "work").string();
  ASSERT_EQ(::mount("overlay", ovl.c_str(), "overlay", 0, opts.c_str()), 0) << std::strerror(errno);
  {
    Mount m(ovl, {});
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(passthrough_is(m.mnt(), "on"));
    EXPECT_EQ(read_file(m.mnt() / "f"), "lower");
    write_file(m.mnt() / "g", "through the daemon");
    EXPECT_EQ(read_file(ovl / "g"), "through the daemon");
  }
  while (is_mounted(ovl)) ASSERT_EQ(::umount2(ovl.c_str(), MNT_DETACH), 0);  // BACKING's bind too
}

// The registrar: a child of the daemon with CAP_SYS_ADMIN alone, no_new_privs, a seccomp filter,
// no fd but its socket and /dev/fuse (and stdio); killed with the daemon, so it never keeps a dead
// daemon's connection alive.
pid_t registrar_of(pid_t daemon) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    stat >> pid >> comm >> state >> ppid;
    if (ppid == daemon && comm == "(confinefs-pt)") return std::stoi(pid);
  }
  return -1;
}

std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) return line.substr(key.size() + 1);
  }
  return "";
}

TEST(Passthrough, TheRegistrarKeepsOnlyCapSysAdminAndDiesWithTheDaemon) {
  Mount m;
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(passthrough_is(m.mnt(), "on"));
  pid_t registrar = registrar_of(m.daemon_pid());
  ASSERT_GT(registrar, 0);
  auto trimmed = [](std::string s) { return s.substr(s.find_first_not_of(" \t")); };
  EXPECT_EQ(trimmed(status_line(registrar, "CapEff")), "0000000000200000");
  EXPECT_EQ(trimmed(status_line(registrar, "CapBnd")), "0000000000200000");
  EXPECT_EQ(trimmed(status_line(registrar, "NoNewPrivs")), "1");
  EXPECT_EQ(trimmed(status_line(registrar, "Seccomp")), "2");
  size_t fds = 0;
  for ([[maybe_unused]] const auto& e :
       fs::directory_iterator("/proc/" + std::to_string(registrar) + "/fd")) {
    ++fds;
  }
  EXPECT_LE(fds, 5u);  // stdin, stdout, stderr, the socket, /dev/fuse
  ASSERT_TRUE(m.signal_daemon(SIGKILL));
  EXPECT_EQ(m.unmount(), -1);  // killed, and reaped
  EXPECT_TRUE(eventually([&] { return ::kill(registrar, 0) != 0; })) << "registrar outlived it";
}

}  // namespace
}  // namespace confinefs::testing
