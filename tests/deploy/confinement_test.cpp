// Self-confinement of the daemon (threats 7, 19, 20): no_new_privs and the
// documented capabilities, the tenant's identity with -o user=, Landlock closing the rename-out
// hole (and what happens without it), every operation still working under Landlock and under the
// seccomp allow-list, SIGHUP reload and the audit file still reachable.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/deploy/daemon.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

// CAP_CHOWN(0) CAP_DAC_OVERRIDE(1) CAP_FOWNER(3) CAP_SETGID(6) CAP_SETUID(7): see
// cmd/privileges.h and docs/deployment.md.
constexpr const char* kRootServingCaps = "00000000000000cb";
constexpr const char* kNoCaps = "0000000000000000";

class Confinement : public DaemonTest {
 protected:
  void stop(Daemon& d) {
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
    EXPECT_FALSE(is_mounted(mnt_));
  }
};

// Every kind of operation the daemon serves, through the mount.
void exercise(const fs::path& mnt) {
  fs::create_directories(mnt / "d1" / "sub");
  fs::create_directories(mnt / "d2");
  write_file(mnt / "d1" / "f", "hello");
  EXPECT_EQ(read_file(mnt / "d1" / "f"), "hello");
  fs::rename(mnt / "d1" / "f", mnt / "d2" / "g");  // across directories: Landlock REFER
  fs::rename(mnt / "d1" / "sub", mnt / "d2" / "sub");
  EXPECT_EQ(read_file(mnt / "d2" / "g"), "hello");
  fs::resize_file(mnt / "d2" / "g", 2);  // Landlock TRUNCATE
  EXPECT_EQ(read_file(mnt / "d2" / "g"), "he");
  fs::permissions(mnt / "d2" / "g", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(::utimensat(AT_FDCWD, (mnt / "d2" / "g").c_str(), nullptr, 0), 0);
  EXPECT_EQ(::setxattr((mnt / "d2" / "g").c_str(), "user.k", "v", 1, 0), 0) << strerror(errno);
  char v[8] = {};
  EXPECT_EQ(::getxattr((mnt / "d2" / "g").c_str(), "user.k", v, sizeof v), 1);
  char names[64];
  EXPECT_GT(::listxattr((mnt / "d2" / "g").c_str(), names, sizeof names), 0);
  EXPECT_EQ(::removexattr((mnt / "d2" / "g").c_str(), "user.k"), 0);
  struct statfs sfs {};
  EXPECT_EQ(::statfs(mnt.c_str(), &sfs), 0);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(mnt / "d2")) ++entries;
  EXPECT_EQ(entries, 2u);
  // Every kind of object made through the mount (stored as regular files: fusefs/objects/).
  ASSERT_EQ(::symlink("g", (mnt / "d2" / "l").c_str()), 0) << strerror(errno);
  EXPECT_EQ(fs::read_symlink(mnt / "d2" / "l"), "g");
  EXPECT_EQ(read_file(mnt / "d2" / "l"), "he");
  ASSERT_EQ(::mkfifo((mnt / "d2" / "p").c_str(), 0600), 0) << strerror(errno);
  EXPECT_TRUE(fs::is_fifo(mnt / "d2" / "p"));
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = (mnt / "d2" / "s").string();
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  EXPECT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
  EXPECT_TRUE(fs::is_socket(mnt / "d2" / "s"));
  ::close(s);
  for (const char* made : {"l", "p", "s"}) fs::remove(mnt / "d2" / made);
  fs::remove(mnt / "d2" / "g");
  fs::remove(mnt / "d2" / "sub");
  fs::remove(mnt / "d1");
  fs::remove(mnt / "d2");
  EXPECT_TRUE(fs::is_empty(mnt));
}

TEST_F(Confinement, NoNewPrivsAndOnlyTheDocumentedCapabilities) {
  Daemon d(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_EQ(proc_status(d.pid(), "NoNewPrivs"), "1");
  EXPECT_EQ(proc_status(d.pid(), "CapEff"), kRootServingCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapPrm"), kRootServingCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapBnd"), kRootServingCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapInh"), kNoCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapAmb"), kNoCaps);
  // Every thread, the SIGHUP-reload and control threads and libfuse's workers included.
  size_t threads = 0;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(d.pid()) + "/task")) {
    pid_t tid = std::stoi(t.path().filename().string());
    std::ifstream in(t.path() / "status");
    std::string line, nnp, eff;
    while (std::getline(in, line)) {
      if (line.rfind("NoNewPrivs:", 0) == 0) nnp = line.substr(line.find_last_of(" \t") + 1);
      if (line.rfind("CapEff:", 0) == 0) eff = line.substr(line.find_last_of(" \t") + 1);
    }
    EXPECT_EQ(nnp, "1") << "thread " << tid;
    EXPECT_EQ(eff, kRootServingCaps) << "thread " << tid;
    ++threads;
  }
  EXPECT_GE(threads, 3u);  // main, SIGHUP reload, control, and the workers
  // The helper that unmounts at the end keeps CAP_SYS_ADMIN (bit 21) and nothing else.
  pid_t helper = first_child(d.pid());
  ASSERT_GT(helper, 0);
  EXPECT_EQ(proc_status(helper, "CapEff"), "0000000000200000");
  EXPECT_EQ(proc_status(helper, "NoNewPrivs"), "1");
  exercise(mnt_);
  stop(d);
}

// errno of each attack a sandbox process (uid, gid) can make on its daemon's process:
// {kill SIGKILL, kill SIGSTOP, prlimit RLIMIT_FSIZE, ptrace attach}, 0 where it worked.
std::vector<int> attacks_on(pid_t daemon, uid_t uid, gid_t gid) {
  if (daemon <= 0) return {};  // kill(-1, ...) would reach every process of uid
  int p[2];
  if (::pipe(p) != 0) return {};
  pid_t child = ::fork();
  if (child == 0) {
    ::close(p[0]);
    int out[4] = {-1, -1, -1, -1};
    // A sandbox is a session of its own (SIGCONT is allowed within one session).
    if (::setsid() >= 0 && ::setgroups(0, nullptr) == 0 && ::setgid(gid) == 0 &&
        ::setuid(uid) == 0) {
      // Signal 0 and a limit of RLIM_INFINITY probe the permission without harming the daemon.
      out[0] = ::kill(daemon, 0) == 0 ? 0 : errno;
      out[1] = ::kill(daemon, SIGCONT) == 0 ? 0 : errno;
      rlimit same{RLIM_INFINITY, RLIM_INFINITY};
      out[2] = ::prlimit(daemon, RLIMIT_FSIZE, &same, nullptr) == 0 ? 0 : errno;
      out[3] = ::ptrace(PTRACE_ATTACH, daemon, nullptr, nullptr) == 0 ? 0 : errno;
      if (out[3] == 0) ::ptrace(PTRACE_DETACH, daemon, nullptr, nullptr);
    }
    if (::write(p[1], out, sizeof out) < 0) _exit(2);
    _exit(0);
  }
  ::close(p[1]);
  int got[4] = {-1, -1, -1, -1};
  if (::read(p[0], got, sizeof got) != sizeof got) got[0] = -1;
  ::close(p[0]);
  ::waitpid(child, nullptr, 0);
  return {got[0], got[1], got[2], got[3]};
}

TEST_F(Confinement, UserOptionRunsAsTheTenant) {
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no user 'nobody'";
  ASSERT_EQ(::chown(backing_.c_str(), pw->pw_uid, pw->pw_gid), 0);
  Daemon d(args({"-o", "user=nobody"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  write_file(mnt_ / "made-by-tenant", "x");  // also waits for INIT, so the switch is done
  // The price (threat 25): the tenant's own processes reach a daemon that is the tenant, which
  // -o service_user= avoids (ServiceUserIsOutOfTheSandboxsReach).
  auto reach = attacks_on(d.pid(), pw->pw_uid, pw->pw_gid);
  ASSERT_EQ(reach.size(), 4u);
  EXPECT_EQ(reach[0], 0) << "the tenant can signal a daemon running as the tenant";
  std::string ids = std::to_string(pw->pw_uid);
  EXPECT_EQ(proc_status(d.pid(), "Uid"), ids + "\t" + ids + "\t" + ids + "\t" + ids);
  std::string gid = std::to_string(pw->pw_gid);
  EXPECT_EQ(proc_status(d.pid(), "Gid"), gid + "\t" + gid + "\t" + gid + "\t" + gid);
  EXPECT_EQ(proc_status(d.pid(), "CapEff"), kNoCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapPrm"), kNoCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapBnd"), kNoCaps);
  EXPECT_EQ(proc_status(d.pid(), "NoNewPrivs"), "1");
  struct stat st {};
  ASSERT_EQ(::stat((backing_ / "made-by-tenant").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  EXPECT_EQ(st.st_gid, pw->pw_gid);
  fs::create_directory(mnt_ / "dir");
  ASSERT_EQ(::stat((backing_ / "dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  exercise(mnt_ / "dir");
  // The control socket was bound as root before the switch and still answers.
  auto [rc, out] = capture({confinefs_binary(), "status", mnt_.string()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("uid=" + ids + "\n"), std::string::npos) << out;
  stop(d);
}

// threat 25: with -o service_user= the daemon runs under an identity the sandbox does not share,
// keeps the serving capabilities, and creates files as the caller.
TEST_F(Confinement, ServiceUserIsOutOfTheSandboxsReach) {
  const passwd* svc = ::getpwnam("daemon");
  if (svc == nullptr) GTEST_SKIP() << "no user 'daemon'";
  constexpr uid_t kSandbox = 12345;
  ASSERT_EQ(::chmod(tree_.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(backing_.c_str(), 0777), 0);
  Daemon d(args({"-o", "allow_other,service_user=daemon"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  write_file(mnt_ / "probe", "x");  // waits for INIT, so the switch is done
  std::string ids = std::to_string(svc->pw_uid);
  EXPECT_EQ(proc_status(d.pid(), "Uid"), ids + "\t" + ids + "\t" + ids + "\t" + ids);
  EXPECT_EQ(proc_status(d.pid(), "CapEff"), kRootServingCaps);
  EXPECT_EQ(proc_status(d.pid(), "CapBnd"), kRootServingCaps);
  EXPECT_EQ(attacks_on(d.pid(), kSandbox, kSandbox),
            (std::vector<int>{EPERM, EPERM, EPERM, EPERM}));
  // Files still belong to whoever made them: the sandbox's uid, and root for root.
  pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(kSandbox) != 0 || ::setuid(kSandbox) != 0) _exit(1);
    int fd = ::open((mnt_ / "by-sandbox").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    _exit(fd >= 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  struct stat st {};
  ASSERT_EQ(::stat((backing_ / "by-sandbox").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kSandbox);
  ASSERT_EQ(::stat((backing_ / "probe").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  write_file(mnt_ / "probe2", "y");  // a root caller after a non-root one: still root's
  ASSERT_EQ(::stat((backing_ / "probe2").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  fs::create_directory(mnt_ / "ex");
  exercise(mnt_ / "ex");
  stop(d);
}

// A file size limit put on the daemon fails the write with EFBIG instead of killing the daemon
// with SIGXFSZ.
// Writes the daemon makes itself: a passthrough open's writes are the writer's own, under the
// writer's limits, so this mount serves data through the daemon.
TEST_F(Confinement, AFileSizeLimitOnTheDaemonFailsTheWriteNotTheDaemon) {
  Daemon d(args({"-o", "passthrough=off"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  rlimit one{1, 1};
  ASSERT_EQ(::prlimit(d.pid(), RLIMIT_FSIZE, &one, nullptr), 0);
  int fd = ::open((mnt_ / "big").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  std::string block(4096, 'x');
  // The first write stops at the limit (a short write of 1 byte); the next one finds no room.
  EXPECT_LE(::write(fd, block.data(), block.size()), 1);
  errno = 0;
  EXPECT_EQ(::write(fd, block.data(), block.size()), -1);
  EXPECT_EQ(errno, EFBIG);
  ::close(fd);
  EXPECT_TRUE(d.running()) << d.log();
  stop(d);
}

TEST_F(Confinement, EveryOperationWorksUnderLandlock) {
  Daemon d(args({"-o", "landlock=require"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_NE(d.log().find("landlock ABI"), std::string::npos) << d.log();
  exercise(mnt_);
  stop(d);
}

TEST_F(Confinement, EveryOperationWorksUnderTheSeccompAllowList) {
  Daemon d(args({"-o", "seccomp=on"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  exercise(mnt_);
  auto [rc, out] = capture({confinefs_binary(), "status", mnt_.string()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("seccomp=on"), std::string::npos) << out;
  EXPECT_EQ(proc_status(d.pid(), "Seccomp"), "2");
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(d.pid()) + "/task")) {
    std::ifstream in(t.path() / "status");
    std::string line, mode;
    while (std::getline(in, line)) {
      if (line.rfind("Seccomp:", 0) == 0) mode = line.substr(line.find_last_of(" \t") + 1);
    }
    EXPECT_EQ(mode, "2") << "thread " << t.path().filename();
  }
  stop(d);
}

// The rename-out race made deterministic: the client holds a directory of the mount, an outside
// process moves it out of BACKING, then the client creates, removes and renames in it.
// Returns how many of those reached the moved directory.
// The outside process renames through a handle of BACKING opened before the daemon started (by
// path the rename fails with EXDEV once BACKING is a mount of its own: threat 21).
int rename_out_escapes(const fs::path& mnt, FdRef backing_before, const fs::path& outside) {
  fs::create_directories(mnt / "work");
  write_file(mnt / "work" / "old", "o");
  int dir = ::open((mnt / "work").c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_GE(dir, 0);
  EXPECT_EQ(::renameat(backing_before.get(), "work", AT_FDCWD, (outside / "moved").c_str()), 0);
  int escapes = 0;
  int fd = ::openat(dir, "new", O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) ::close(fd);
  escapes += fs::exists(outside / "moved" / "new");
  ::mkdirat(dir, "newdir", 0755);
  escapes += fs::exists(outside / "moved" / "newdir");
  ::unlinkat(dir, "old", 0);
  escapes += !fs::exists(outside / "moved" / "old");
  ::close(dir);
  return escapes;
}

TEST_F(Confinement, RenameOutIsRefusedWithLandlock) {
  Daemon d(args({"-o", "landlock=require"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_EQ(rename_out_escapes(mnt_, backing_before_.ref(), outside_), 0);
  EXPECT_TRUE(d.running()) << d.log();
  write_file(mnt_ / "alive", "y");  // the daemon still serves the rest
  EXPECT_EQ(read_file(backing_ / "alive"), "y");
  stop(d);
}

// Documents the difference: without Landlock the held fd still reaches the moved directory.
TEST_F(Confinement, RenameOutEscapesWithoutLandlock) {
  Daemon d(args({"-o", "landlock=off"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_GT(rename_out_escapes(mnt_, backing_before_.ref(), outside_), 0)
      << "the moved directory was not reachable even without Landlock: if another defence now "
         "closes threat 7, update this test and docs/deployment.md";
  stop(d);
}

TEST_F(Confinement, SighupReloadAndAuditFileStillWorkUnderLandlock) {
  fs::path conf = tree_.path() / "conf";
  fs::create_directories(conf);
  fs::path audit = tree_.path() / "audit.jsonl";
  write_file(conf / "p.yaml", "version: 1\ntenant: before\naudit:\n  sink: " + audit.string() +
                                  "\nrules:\n  - path: /denied\n    access: deny\n");
  Daemon d(args({"-o", "landlock=require,policy=" + (conf / "p.yaml").string()}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  fs::create_directories(backing_ / "denied");
  int fd = ::open((mnt_ / "denied" / "x").c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_LT(fd, 0);
  if (fd >= 0) ::close(fd);
  EXPECT_TRUE(eventually([&] { return read_file(audit).find("denied") != std::string::npos; }))
      << read_file(audit);
  // An editor's save: a new file renamed over the old one.
  write_file(conf / "p.yaml.new",
             "version: 1\ntenant: after\naudit:\n  sink: " + audit.string() + "\n");
  fs::rename(conf / "p.yaml.new", conf / "p.yaml");
  d.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return status_field(mnt_, "tenant") == "after"; }))
      << capture({confinefs_binary(), "status", mnt_.string()}).second << d.log();
  stop(d);
}

}  // namespace
}  // namespace confinefs::testing
