// Test support: a real confinefs mount over a fresh temporary tree.
//   <tmp>/backing   the backing directory
//   <tmp>/mnt       the mountpoint
//   <tmp>/outside   files outside the backing directory (canaries, link targets)
// The daemon is build/bin/confinefs run in the foreground; the mount is ready when it shows in
// /proc/self/mountinfo. Destruction unmounts and reaps the daemon, failing the test on a non-zero
// exit status (a crash is a test failure, not noise).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fusefs/fd.h"

namespace confinefs::testing {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed (recursively) on destruction.
class TempTree {
 public:
  TempTree();
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const fs::path& path() const { return root_; }

 private:
  fs::path root_;
};

class Mount {
 public:
  // extra_args go before BACKING MOUNTPOINT (e.g. {"-o", "cache=strict"}).
  explicit Mount(std::vector<std::string> extra_args = {});
  // A second mount of an existing backing directory (another tenant's daemon over the same
  // BACKING, say); its outside directory and mountpoint are its own.
  Mount(const fs::path& shared_backing, std::vector<std::string> extra_args);
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const fs::path& backing() const { return backing_; }
  const fs::path& mnt() const { return mnt_; }
  const fs::path& outside() const { return outside_; }
  // -1 once the daemon exited: never pass it to kill() unchecked (kill(-1, sig) as root signals
  // every process); use signal_daemon().
  pid_t daemon_pid() const { return pid_; }
  // Sends sig while the daemon runs; false (nothing sent) otherwise.
  bool signal_daemon(int sig) const { return pid_ > 0 && ::kill(pid_, sig) == 0; }
  bool ok() const { return ready_; }
  // Open fds of the daemon that name files or directories (from /proc/PID/fd).
  size_t daemon_fd_count() const;
  // Unmounts now and returns the daemon's exit status (-1 if it did not exit normally).
  int unmount();
  // Hardlinks target into BACKING as name through a handle opened before the daemon started, as
  // an outside process that held BACKING since then can (the daemon binds BACKING onto itself,
  // so link(2) by path fails with EXDEV): what the link-count checks must still refuse.
  // 0 or the errno.
  int link_from_before(const fs::path& target, const std::string& name) const;
  // The path of rel inside BACKING through that handle ("/proc/self/fd/N/rel"): a mount made there
  // lands on the mount the daemon serves from, not on the bind over BACKING's path.
  fs::path path_before(const std::string& rel) const;

 private:
  void start(std::vector<std::string> extra_args);

  TempTree tree_;
  fs::path backing_, mnt_, outside_;
  Fd backing_before_;  // O_PATH, on the mount BACKING was on before the daemon started
  pid_t pid_ = -1;
  bool ready_ = false;
  int exit_status_ = -2;
};

// The environment for a confinefs daemon under test (ASAN_OPTIONS gains detect_leaks=0: a
// confined daemon cannot run LeakSanitizer). Built before fork(), for exec_daemon() in the child.
std::vector<std::string> daemon_environment();
// In a forked child: execs argv (argv[0] is the binary) with env; never returns.
[[noreturn]] void exec_daemon(std::vector<std::string> argv, std::vector<std::string> env);
// The /proc/self/mountinfo line of the topmost mount at path, "" when nothing is mounted there.
std::string mountinfo_line(const fs::path& path);
// Mount points at or below dir, the one mounted last first.
std::vector<std::string> mounts_under(const fs::path& dir);
// True when path is currently a mountpoint according to /proc/self/mountinfo.
bool is_mounted(const fs::path& path);
// Path of the confinefs binary under test (CONFINEFS_BIN, set by CMake).
std::string confinefs_binary();
// Polls holds() every 10 ms until it is true or timeout has passed; returns its last answer.
// For tests that wait for the daemon: never a blind sleep.
bool eventually(const std::function<bool()>& holds,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Waits for child pid to exit (polling, like eventually()); its wait status, or -1 when it has
// not exited within timeout.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(5));
// One field of `confinefs status MNT` ("" when there is none, or no daemon answers).
std::string status_field(const fs::path& mnt, const std::string& key);
// SIGHUP reloads the daemon at mnt has finished, applied or refused (from `confinefs status`).
uint64_t reloads_done(const fs::path& mnt);

// Path of tests/support/casefold_fs.cpp's binary: a case-insensitive FUSE passthrough.
std::string casefold_fs_binary();
// tests/support/file_exerciser.cpp: random I/O checked against a model.
std::string file_exerciser_binary();
// Runs argv, returns its exit status; stdout/stderr go to the test log.
int run_command(const std::vector<std::string>& argv, const fs::path& cwd = {});
// n bytes of a fixed pseudo-random sequence chosen by seed: file content that no block of
// another file (or of another offset) repeats.
std::string pattern(size_t n, unsigned seed);
// Reads a whole file (throws on error); writes one (creating/truncating).
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& content);
// errno of open(p, flags, mode), 0 when it opens (the fd is closed again).
int open_errno(const fs::path& p, int flags, mode_t mode = 0644);
// The names readdir shows in dir ("." and ".." left out).
std::set<std::string> names_in(const fs::path& dir);

}  // namespace confinefs::testing
