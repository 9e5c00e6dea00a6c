// Lifecycle of the daemon as systemd and operators see it: readiness over
// NOTIFY_SOCKET, clean stop on SIGTERM/SIGINT/unmount, recovery after SIGKILL, refusal to mount
// over a live mount or another filesystem, and the status / unmount-stale subcommands.
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "cmd/mount_record.h"
#include "tests/deploy/daemon.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

class Lifecycle : public DaemonTest {
 protected:
  std::string status() { return capture({confinefs_binary(), "status", mnt_.string()}).second; }
};

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() { ::close(fd_); }
  bool bound() const { return bound_; }
  // Next message within timeout_ms, "" on timeout.
  std::string next(int timeout_ms) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST_F(Lifecycle, ReadyOnlyOnceMountedAndStoppingOnSigterm) {
  NotifySocket sock(tree_.path() / "notify.sock");
  ASSERT_TRUE(sock.bound());
  Daemon d(args(), {"NOTIFY_SOCKET=" + (tree_.path() / "notify.sock").string()});
  std::string msg;
  for (int i = 0; i < 10 && msg.find("READY=1") == std::string::npos; ++i) msg = sock.next(1000);
  ASSERT_NE(msg.find("READY=1"), std::string::npos) << d.log();
  // Checked the moment READY=1 arrives: the mount must already be there.
  EXPECT_TRUE(is_mounted(mnt_));
  EXPECT_NE(msg.find("STATUS="), std::string::npos);
  EXPECT_NE(msg.find("mountpoint=" + mnt_.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("backing=" + backing_.string()), std::string::npos) << msg;
  d.signal(SIGTERM);
  std::string stop = sock.next(5000);
  EXPECT_NE(stop.find("STOPPING=1"), std::string::npos) << stop;
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_FALSE(is_mounted(mnt_));
}

TEST_F(Lifecycle, SigtermAndSigintUnmountAndExitZero) {
  for (int sig : {SIGTERM, SIGINT}) {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    write_file(mnt_ / "f", "x");
    d.signal(sig);
    EXPECT_EQ(d.wait_exit(), 0) << strsignal(sig) << "\n" << d.log();
    EXPECT_TRUE(wait_mounted(mnt_, false, 2000)) << strsignal(sig);
    EXPECT_EQ(read_file(backing_ / "f"), "x");
  }
}

TEST_F(Lifecycle, UnmountFromOutsideEndsWithExitZero) {
  Daemon d(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  EXPECT_EQ(run_command({"fusermount3", "-u", mnt_.string()}), 0);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_FALSE(is_mounted(mnt_));
}

TEST_F(Lifecycle, SigkillIsCleanedUpByTheHelper) {
  Daemon d(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  d.signal(SIGKILL);
  EXPECT_EQ(d.wait_exit(), -1);
  EXPECT_TRUE(wait_mounted(mnt_, false, 3000)) << "the unmount helper left the dead mount";
  Daemon again(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << again.log();
  write_file(mnt_ / "after", "ok");
  EXPECT_EQ(read_file(backing_ / "after"), "ok");
}

// Daemon and helper both killed (as a kill -9 of the whole unit would): the mount stays, stale;
// the next start at the same mountpoint unmounts it lazily and serves again.
TEST_F(Lifecycle, StaleMountAfterSigkillIsRecoveredAtRestart) {
  {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    pid_t helper = first_child(d.pid());
    ASSERT_GT(helper, 0);
    ::kill(helper, SIGKILL);
    d.signal(SIGKILL);
    EXPECT_EQ(d.wait_exit(), -1);
  }
  // The passthrough registrar holds a copy of the connection until its parent-death signal ends
  // it: a statfs sent meanwhile waits, then fails with ECONNABORTED when the connection goes.
  int err = 0;
  ASSERT_TRUE(eventually([&] {
    struct statfs sfs {};
    err = ::statfs(mnt_.c_str(), &sfs) == 0 ? 0 : errno;
    return err != ECONNABORTED;
  }));
  ASSERT_EQ(err, ENOTCONN);
  auto [rc, out] = capture({confinefs_binary(), "status", mnt_.string()});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("state=stale"), std::string::npos) << out;

  Daemon d(args());
  // The stale mount is itself "mounted": wait for the new daemon to answer there.
  ASSERT_TRUE(eventually([&] { return status_field(mnt_, "live") == "yes"; })) << d.log();
  write_file(mnt_ / "recovered", "yes");
  EXPECT_EQ(read_file(backing_ / "recovered"), "yes");
  EXPECT_NE(d.log().find("stale"), std::string::npos) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_TRUE(wait_mounted(mnt_, false, 2000));
}

TEST_F(Lifecycle, UnmountStaleSubcommand) {
  {
    Daemon d(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
    if (pid_t helper = first_child(d.pid()); helper > 0) ::kill(helper, SIGKILL);
    d.signal(SIGKILL);
    d.wait_exit();
  }
  ASSERT_TRUE(is_mounted(mnt_));
  EXPECT_EQ(run_command({confinefs_binary(), "unmount-stale", mnt_.string()}), 0);
  EXPECT_FALSE(is_mounted(mnt_));
  // Nothing there: still success, so a supervisor may always run it (scripts/fd-supervisor).
  EXPECT_EQ(run_command({confinefs_binary(), "unmount-stale", mnt_.string()}), 0);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Threat 43: the unit's ExecStopPost= runs as root once the daemon is gone and must unmount the
// mount that daemon made, never whatever sits at MOUNTPOINT by then (another tenant's live
// mount, steered there by a tenant). Here the record names an earlier mount at the place and a
// live one is there now: it stays. The previous build unmounted whatever confinefs mount it
// found there.
TEST_F(Lifecycle, UnmountAfterStopActsOnTheRecordedMountOnly) {
  const fs::path record = cmd::mount_record_path(fs::canonical(mnt_).string());
  std::string earlier;
  {
    Daemon first(args());
    ASSERT_TRUE(wait_mounted(mnt_)) << first.log();
    earlier = slurp(record);
    ASSERT_FALSE(earlier.empty()) << "no mount record at " << record;
    first.signal(SIGTERM);
    EXPECT_EQ(first.wait_exit(), 0) << first.log();
  }
  EXPECT_FALSE(fs::exists(record)) << "the record outlived its mount";
  Daemon live(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << live.log();
  std::string current = slurp(record);
  ASSERT_NE(current, earlier);
  {
    std::ofstream(record, std::ios::trunc) << earlier;  // a record of a mount that is gone
  }
  auto [rc, out] = capture(
      {confinefs_binary(), "unmount-after-stop", mnt_.string(), "confinefs-test-no-such.service"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("not there"), std::string::npos) << out;
  ASSERT_TRUE(is_mounted(mnt_));
  write_file(mnt_ / "still", "served");
  EXPECT_EQ(read_file(backing_ / "still"), "served");
  // Without a record nothing is unmounted either.
  fs::remove(record);
  std::tie(rc, out) = capture(
      {confinefs_binary(), "unmount-after-stop", mnt_.string(), "confinefs-test-no-such.service"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(is_mounted(mnt_)) << out;
  // The live mount's own record: that one goes, and the record with it.
  { std::ofstream(record, std::ios::trunc) << current; }
  ::chmod(record.c_str(), 0600);
  std::tie(rc, out) = capture(
      {confinefs_binary(), "unmount-after-stop", mnt_.string(), "confinefs-test-no-such.service"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_FALSE(is_mounted(mnt_)) << out;
  EXPECT_FALSE(fs::exists(record));
}

TEST_F(Lifecycle, LiveMountIsRefusedAndLeftAlone) {
  Daemon first(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << first.log();
  Daemon second(args());
  EXPECT_EQ(second.wait_exit(), 2) << second.log();
  EXPECT_NE(second.log().find("already a live confinefs mount"), std::string::npos) << second.log();
  EXPECT_NE(run_command({confinefs_binary(), "unmount-stale", mnt_.string()}), 0);
  write_file(mnt_ / "still", "served");
  EXPECT_EQ(read_file(backing_ / "still"), "served");
}

TEST_F(Lifecycle, AnotherFilesystemAtTheMountpointIsRefused) {
  ASSERT_EQ(::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  Daemon d(args());
  EXPECT_EQ(d.wait_exit(), 2) << d.log();
  EXPECT_NE(d.log().find("another filesystem (tmpfs"), std::string::npos) << d.log();
  EXPECT_NE(run_command({confinefs_binary(), "unmount-stale", mnt_.string()}), 0);
  EXPECT_EQ(::umount2(mnt_.c_str(), 0), 0);
}

// The operations counter counts FUSE requests: a listing with attributes (READDIRPLUS) of 500
// names is a handful of requests, not one per name it looks up.
TEST_F(Lifecycle, OperationsCountFuseRequestsNotTheLookupsInside) {
  for (int i = 0; i < 500; ++i) write_file(backing_ / ("f" + std::to_string(i)), "");
  Daemon d(args());
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  auto operations = [&] {
    std::string out = status();
    auto at = out.find("operations=");
    return at == std::string::npos ? -1L : std::stol(out.substr(at + 11));
  };
  long before = operations();
  ASSERT_GE(before, 0);
  // readdir + lstat of every name: the kernel asks with READDIRPLUS (entries and attributes).
  size_t listed = 0;
  for (const auto& e : fs::directory_iterator(mnt_)) listed += e.is_regular_file();
  EXPECT_EQ(listed, 500u);
  long after = operations();
  EXPECT_LT(after - before, 100) << "one READDIRPLUS counted once per entry looked up";
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0);
}

TEST_F(Lifecycle, StatusReportsTenantAndCounters) {
  write_file(tree_.path() / "policy.yaml",
             "version: 1\ntenant: alice\nrules:\n"
             "  - path: /secret\n    access: deny\n");
  Daemon d(args({"-o", "policy=" + (tree_.path() / "policy.yaml").string()}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  write_file(mnt_ / "a", "1");
  struct stat st {};
  EXPECT_NE(::stat((mnt_ / "secret").c_str(), &st), 0);
  auto [rc, out] = capture({confinefs_binary(), "status", mnt_.string()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("state=live"), std::string::npos) << out;
  EXPECT_NE(out.find("tenant=alice"), std::string::npos) << out;
  EXPECT_NE(out.find("pid=" + std::to_string(d.pid())), std::string::npos) << out;
  EXPECT_NE(out.find("operations="), std::string::npos) << out;
  EXPECT_EQ(out.find("operations=0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("denials="), std::string::npos) << out;
  // Nothing of the control interface inside the mount.
  for (const auto& e : fs::directory_iterator(mnt_)) EXPECT_EQ(e.path().filename(), "a");
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0);
  EXPECT_EQ(capture({confinefs_binary(), "status", mnt_.string()}).first, 3);
}

// Without -f: daemonizes after mounting; the control socket, reload thread and confinement
// belong to the background process.
TEST_F(Lifecycle, BackgroundDaemonServesAndStops) {
  Daemon launcher({backing_.string(), mnt_.string()});
  EXPECT_EQ(launcher.wait_exit(), 0) << launcher.log();
  ASSERT_TRUE(wait_mounted(mnt_));
  auto [rc, out] = capture({confinefs_binary(), "status", mnt_.string()});
  ASSERT_EQ(rc, 0) << out;
  auto at = out.find("pid=");
  ASSERT_NE(at, std::string::npos);
  pid_t pid = std::stoi(out.substr(at + 4));
  ASSERT_GT(pid, 0);
  EXPECT_EQ(proc_status(pid, "NoNewPrivs"), "1");
  write_file(mnt_ / "bg", "x");
  EXPECT_EQ(read_file(backing_ / "bg"), "x");
  ::kill(pid, SIGTERM);
  EXPECT_TRUE(wait_mounted(mnt_, false, 5000));
  // Gone, or a zombie waiting for whoever reaps orphans here.
  auto running = [pid] {
    std::string state = proc_status(pid, "State");
    return !state.empty() && state[0] != 'Z';
  };
  EXPECT_TRUE(eventually([&] { return !running(); }, std::chrono::seconds(5)))
      << "daemon still running";
}

}  // namespace
}  // namespace confinefs::testing
