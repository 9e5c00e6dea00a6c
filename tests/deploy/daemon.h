// Test support for the deployment tests: a confinefs daemon started with any arguments and
// environment, its stderr kept in a file, and what /proc says about it. Unlike
// tests/support/mount_fixture.h the test decides how the daemon ends (SIGTERM, SIGKILL, ...).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {

namespace fs = std::filesystem;

class Daemon {
 public:
  // Runs confinefs with args (CONFINEFS_BIN); env entries "K=V" are added to the environment.
  explicit Daemon(std::vector<std::string> args, std::vector<std::string> env = {});
  ~Daemon();  // SIGTERM, then SIGKILL, if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The daemon's pid while it runs, -1 once reaped: never pass it to kill() unchecked (as root,
  // kill(-1, sig) signals every process on the host); use signal().
  pid_t pid() const { return pid_; }
  // Sends sig while the daemon runs; false (nothing sent) once it has exited.
  bool signal(int sig);
  bool running();
  // Waits for the daemon to exit; its exit status, or -1 (killed by a signal), or -2 (timeout).
  int wait_exit(int timeout_ms = 10000);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int status_ = -2;
  fs::path log_;
};

// Polls until path shows (or no longer shows) in /proc/self/mountinfo; once mounted, also waits
// until the daemon serves (it confines itself before it answers the first request).
bool wait_mounted(const fs::path& path, bool mounted = true, int timeout_ms = 5000);
// A field of /proc/PID/status ("NoNewPrivs", "CapEff", "Uid"...), "" if absent.
std::string proc_status(pid_t pid, const std::string& field);
// The first child process of pid (the unmount helper), or -1.
pid_t first_child(pid_t pid);
// Runs argv and returns {exit status, stdout}.
std::pair<int, std::string> capture(const std::vector<std::string>& argv);
// Lazily unmounts path if it is mounted (test clean-up).
void force_unmount(const fs::path& path);

// A fresh tree (backing/, mnt/, outside/) for one daemon; skipped without root and /dev/fuse, and
// whatever is left mounted at mnt/ is unmounted afterwards.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override { force_unmount(mnt_); }
  // Foreground daemon arguments: "-f", extra, BACKING, MOUNTPOINT.
  std::vector<std::string> args(std::vector<std::string> extra = {}) const;

  TempTree tree_;
  // BACKING opened before any daemon starts: an outside process that has held it since then
  // (on the mount underneath the daemon's bind, where renames to outside still work).
  Fd backing_before_;
  fs::path backing_, mnt_, outside_;
};

}  // namespace confinefs::testing
