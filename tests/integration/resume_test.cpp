// Sessions outlive their daemon (-o resume=on): a real mount under scripts/fd-supervisor, the
// supervisor of this repository's own that speaks the fd-store protocol (docs/deployment.md,
// "Without systemd"). A session's working directory, directory fd and append fd keep working
// across a SIGKILL and a planned restart; a workload running through restarts sees no failed
// operation and its model's content; a node replaced while no daemon ran is refused; stopping
// unmounts. The same under systemd is tests/systemd/real_unit_test.sh.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

using namespace std::chrono_literals;

// How often the recovery tests below replace the daemon: fewer times under the sanitizers (every
// path still runs; the sanitizer stage of CI has less time per test).
#ifdef __SANITIZE_ADDRESS__
constexpr int kReplacements = 4;
#else
constexpr int kReplacements = 8;
#endif

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "resume=on needs root";
    backing_ = tree_.path() / "backing";
    mnt_ = tree_.path() / "mnt";
    state_ = tree_.path() / "state";
    fs::create_directories(backing_ / "d");
    fs::create_directories(mnt_);
    write_file(backing_ / "d" / "f", "hello");
  }

  void TearDown() override {
    if (supervisor_ > 0) stop();
  }

  void start(const std::string& options = "") {
    std::vector<std::string> argv = {"python3",
                                     std::string(CONFINEFS_SOURCE_DIR) + "/scripts/fd-supervisor",
                                     state_.string(),
                                     mnt_.string(),
                                     "--",
                                     confinefs_binary(),
                                     "-f",
                                     "-o",
                                     "resume=on" + options,
                                     backing_.string(),
                                     mnt_.string()};
    std::vector<std::string> env = daemon_environment();
    supervisor_ = ::fork();
    if (supervisor_ == 0) {
      std::vector<char*> args, envp;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      ::execvpe("python3", args.data(), envp.data());
      _exit(127);
    }
    ASSERT_TRUE(eventually([&] { return readies() == 1; }, 10s)) << "the first daemon serves";
  }

  // Lines in the supervisor's ready file: one per daemon that served.
  size_t readies() const {
    std::ifstream in(state_ / "ready");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  pid_t daemon() const {
    std::ifstream in(state_ / "daemon.pid");
    pid_t pid = 0;
    in >> pid;
    return pid;
  }
  void kill_daemon() {
    size_t before = readies();
    ASSERT_EQ(::kill(daemon(), SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return readies() == before + 1; }, 10s)) << "a new daemon";
  }
  void planned_restart() {
    size_t before = readies();
    ASSERT_EQ(::kill(supervisor_, SIGHUP), 0);
    ASSERT_TRUE(eventually([&] { return readies() == before + 1; }, 10s)) << "a new daemon";
  }
  void stop() {
    ::kill(supervisor_, SIGTERM);
    EXPECT_EQ(wait_exit(supervisor_, 20s), 0);
    supervisor_ = 0;
  }

  // Runs script with bash, its output to out, killing the daemon every 0.3 s until it exits.
  struct Ran {
    int status = -1;  // its wait status; -1 when it had to be killed
    int kills = 0;
    std::string output;
  };
  Ran run_through_kills(const std::string& script, const fs::path& out) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl("/bin/bash", "bash", "-c", script.c_str(), nullptr);
      _exit(127);
    }
    Ran ran;
    for (; ran.kills < 60; ++ran.kills) {
      if ((ran.status = wait_exit(pid, std::chrono::milliseconds(300))) != -1) break;
      kill_daemon();
    }
    if (ran.status == -1) ran.status = wait_exit(pid, std::chrono::seconds(60));
    if (ran.status == -1) ::kill(pid, SIGKILL);
    std::ifstream said(out);
    ran.output.assign(std::istreambuf_iterator<char>(said), {});
    return ran;
  }

  TempTree tree_;
  fs::path backing_, mnt_, state_;
  pid_t supervisor_ = 0;
};

// The names read through fd's own open directory (its handle, not a new open).
std::set<std::string> names_on(int fd) {
  std::set<std::string> names;
  DIR* d = ::fdopendir(::dup(fd));
  if (d == nullptr) return names;
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  return names;
}

// A session's working directory, a directory fd and a file open for appending, used after the
// daemon was replaced by kill or by a planned restart.
void session_survives(const fs::path& mnt, const std::function<void()>& replace) {
  int dir = ::open((mnt / "d").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  int log = ::openat(dir, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(log, 0);
  ASSERT_EQ(::write(log, "before\n", 7), 7);
  char cwd_before[4096];
  ASSERT_NE(::getcwd(cwd_before, sizeof cwd_before), nullptr);
  ASSERT_EQ(::chdir((mnt / "d").c_str()), 0);
  struct stat before {};
  ASSERT_EQ(::stat(".", &before), 0);

  replace();

  struct stat after {};
  EXPECT_EQ(::stat(".", &after), 0) << "the working directory: " << std::strerror(errno);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(read_file("f"), "hello") << "a name relative to the working directory";
  int again = ::openat(dir, "f", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(again, 0) << "openat on the old directory fd: " << std::strerror(errno);
  if (again >= 0) ::close(again);
  EXPECT_EQ(names_on(dir), (std::set<std::string>{"f", "log"})) << "listing the old directory fd";
  EXPECT_EQ(::write(log, "after\n", 6), 6) << "the old append fd: " << std::strerror(errno);
  EXPECT_EQ(read_file("log"), "before\nafter\n") << "a new open of the appended file";
  write_file("new", "n");
  EXPECT_EQ(read_file(mnt / "d" / "new"), "n");
  ::close(log);
  ::close(dir);
  ASSERT_EQ(::chdir(cwd_before), 0);
}

// Files open before the daemon was replaced keep their access mode: the first request on each
// after the restart is one that carries no open flags (SETATTR for ftruncate, FALLOCATE,
// COPY_FILE_RANGE), and the previous build reopened such a handle read-only (ftruncate EINVAL,
// fallocate and copy_file_range EBADF, and with passthrough off every later write EBADF too).
void open_files_keep_their_access_mode(const fs::path& mnt, const std::function<void()>& replace) {
  const fs::path d = mnt / "d";
  write_file(d / "src", "0123456789");
  int rw = ::open((d / "rw").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  int wo = ::open((d / "wo").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int ap = ::open((d / "ap").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int src = ::open((d / "src").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_TRUE(rw >= 0 && wo >= 0 && ap >= 0 && src >= 0) << std::strerror(errno);
  ASSERT_EQ(::write(rw, "abcdef", 6), 6);
  ASSERT_EQ(::write(ap, "a", 1), 1);

  replace();

  EXPECT_EQ(::ftruncate(rw, 3), 0) << "ftruncate first: " << std::strerror(errno);
  EXPECT_EQ(::pwrite(rw, "XY", 2, 3), 2) << std::strerror(errno);
  char buf[16] = {};
  EXPECT_EQ(::pread(rw, buf, sizeof buf, 0), 5) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, 5), "abcXY");
  loff_t in = 2, out = 0;
  EXPECT_EQ(::copy_file_range(src, &in, wo, &out, 4, 0), 4)
      << "copy_file_range into it first: " << std::strerror(errno);
  EXPECT_EQ(::pwrite(wo, "!", 1, 4), 1) << std::strerror(errno);
  EXPECT_EQ(::fallocate(ap, 0, 0, 8192), 0) << "fallocate first: " << std::strerror(errno);
  EXPECT_EQ(::write(ap, "b", 1), 1) << "an append after it: " << std::strerror(errno);
  EXPECT_EQ(::fsync(rw), 0);
  ::close(rw);
  ::close(wo);
  ::close(ap);
  ::close(src);
  EXPECT_EQ(read_file(d / "rw"), "abcXY");
  EXPECT_EQ(read_file(d / "wo"), "2345!");
  std::string appended = read_file(d / "ap");
  EXPECT_EQ(appended.size(), 8193u) << "fallocate kept the size it made, the append went after it";
  EXPECT_EQ(appended.substr(0, 1), "a");
  EXPECT_EQ(appended.back(), 'b');
}

TEST_F(ResumeTest, OpenFilesKeepTheirAccessModeAcrossSigkill) {
  start();
  open_files_keep_their_access_mode(mnt_, [&] { kill_daemon(); });
}

TEST_F(ResumeTest, OpenFilesKeepTheirAccessModeAcrossSigkillWithoutPassthrough) {
  start(",passthrough=off");
  open_files_keep_their_access_mode(mnt_, [&] { kill_daemon(); });
}

TEST_F(ResumeTest, OpenFilesKeepTheirAccessModeAcrossAPlannedRestart) {
  start();
  open_files_keep_their_access_mode(mnt_, [&] { planned_restart(); });
}

TEST_F(ResumeTest, ASessionSurvivesSigkill) {
  start();
  session_survives(mnt_, [&] { kill_daemon(); });
  EXPECT_EQ(status_field(mnt_, "pid"), std::to_string(daemon()));
}

TEST_F(ResumeTest, ASessionSurvivesSigkillWithTheDataThroughTheDaemon) {
  start(",passthrough=off");
  session_survives(mnt_, [&] { kill_daemon(); });
}

TEST_F(ResumeTest, ASessionSurvivesAPlannedRestart) {
  start();
  session_survives(mnt_, [&] { planned_restart(); });
}

TEST_F(ResumeTest, RestartsDuringAWorkloadLoseNothing) {
  start(",passthrough=off");
  std::atomic<bool> done{false};
  std::vector<std::string> failures;         // the workload's own thread only, until joined
  std::map<std::string, std::string> model;  // the same
  std::thread workload([&] {
    auto failed = [&](const std::string& what) {
      failures.push_back(what + ": " + std::strerror(errno));
    };
    for (int i = 0; !done; ++i) {
      std::string name = "w" + std::to_string(i % 50);
      std::string content = pattern(1000 + i % 7000, static_cast<unsigned>(i));
      fs::path tmp = mnt_ / (name + ".tmp");
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        failed("create " + tmp.string());
        continue;
      }
      if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        failed("write " + tmp.string());
      }
      if (::close(fd) != 0) failed("close " + tmp.string());
      if (::rename(tmp.c_str(), (mnt_ / name).c_str()) != 0) failed("rename " + name);
      model[name] = content;
      fd = ::open((mnt_ / name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        failed("open " + name);
        continue;
      }
      std::string back(content.size() + 1, '\0');
      ssize_t n = ::read(fd, back.data(), back.size());
      if (n < 0) failed("read " + name);
      if (n >= 0 && back.substr(0, n) != content) failures.push_back("content of " + name);
      ::close(fd);
    }
  });
  for (int round = 0; round < 6; ++round) {
    std::this_thread::sleep_for(300ms);
    planned_restart();
  }
  done = true;
  workload.join();
  EXPECT_EQ(failures, std::vector<std::string>{});
  for (const auto& [name, content] : model) {
    EXPECT_TRUE(read_file(backing_ / name) == content) << name << " differs from the model";
  }
}

// One worker of the kill test below, in its own process (a request left unanswered can only be
// given up by a signal): in dir, round after round, every change that cannot be made twice with
// one result (mkdir, an exclusive create, appends, an attribute created and removed, a link, a
// rename, an exchange, unlinks, rmdir), each checked. Failures go to fail_path, one line each;
// the rounds done to count_path.
[[noreturn]] void change_until(const fs::path& dir, const fs::path& stop, const fs::path& fail_path,
                               const fs::path& count_path) {
  std::ofstream fails(fail_path);
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) fails << what << ": " << std::strerror(errno) << std::endl;
  };
  int log = ::open((dir / "log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  check(log >= 0, "open log");
  int round = 0;
  for (; !fs::exists(stop); ++round) {
    fs::path d = dir / ("d" + std::to_string(round));
    std::string line = std::to_string(round) + "\n";
    check(::mkdir(d.c_str(), 0755) == 0, "mkdir " + d.string());
    int f = ::open((d / "f").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    check(f >= 0, "create f in " + d.string());
    if (f >= 0) {
      check(::write(f, line.data(), line.size()) == ssize_t(line.size()), "append 1");
      check(::write(f, line.data(), line.size()) == ssize_t(line.size()), "append 2");
      check(::close(f) == 0, "close f");
    }
    check(::write(log, line.data(), line.size()) == ssize_t(line.size()), "append to log");
    check(::setxattr((d / "f").c_str(), "user.k", "v", 1, XATTR_CREATE) == 0, "setxattr");
    check(::removexattr((d / "f").c_str(), "user.k") == 0, "removexattr");
    check(::symlink("f", (d / "l").c_str()) == 0, "symlink");
    check(::rename((d / "f").c_str(), (d / "g").c_str()) == 0, "rename f g");
    check(
        ::renameat2(AT_FDCWD, (d / "g").c_str(), AT_FDCWD, (d / "l").c_str(), RENAME_EXCHANGE) == 0,
        "exchange g l");
    check(::unlink((d / "g").c_str()) == 0, "unlink g");
    check(::unlink((d / "l").c_str()) == 0, "unlink l");
    check(::rmdir(d.c_str()) == 0, "rmdir " + d.string());
  }
  ::close(log);
  std::ofstream(count_path) << round;
  _exit(0);
}

// A SIGKILL takes the requests the daemon was serving with it; the next daemon gets them again
// (FUSE_NOTIFY_RESEND) and answers each once (mount/attempt_log.h, ops/replay.h): the workers
// see no failed call, and nothing is made twice (each append is in the log once).
void kills_fail_nothing(const fs::path& tree, const fs::path& mnt,
                        const std::function<void()>& kill_daemon) {
  constexpr int kWorkers = 3;
  fs::path stop = tree / "stop";
  std::vector<pid_t> workers;
  for (int w = 0; w < kWorkers; ++w) {
    fs::path dir = mnt / ("k" + std::to_string(w));
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      change_until(dir, stop, tree / ("fail" + std::to_string(w)),
                   tree / ("count" + std::to_string(w)));
    }
    workers.push_back(pid);
  }
  for (int kill = 0; kill < kReplacements + 4; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 37 * (kill % 5)));
    kill_daemon();
  }
  std::ofstream(stop).close();
  for (pid_t pid : workers) {
    int status = wait_exit(pid, std::chrono::seconds(20));
    if (status != 0) ::kill(pid, SIGKILL);
    EXPECT_EQ(status, 0) << "a worker hung or died";
  }
  for (int w = 0; w < kWorkers; ++w) {
    std::ifstream fails(tree / ("fail" + std::to_string(w)));
    std::string all((std::istreambuf_iterator<char>(fails)), {});
    EXPECT_EQ(all, "") << "worker " << w;
    int rounds = 0;
    std::ifstream(tree / ("count" + std::to_string(w))) >> rounds;
    EXPECT_GT(rounds, 20) << "worker " << w;
    std::string expected;
    for (int i = 0; i < rounds; ++i) expected += std::to_string(i) + "\n";
    EXPECT_EQ(read_file(mnt / ("k" + std::to_string(w)) / "log"), expected)
        << "each append made once, worker " << w;
  }
}

TEST_F(ResumeTest, KillsDuringChangesFailNothingAndMakeNothingTwice) {
  start(",passthrough=off");
  kills_fail_nothing(tree_.path(), mnt_, [this] { kill_daemon(); });
}

TEST_F(ResumeTest, KillsDuringChangesFailNothingWithPassthrough) {
  start();
  kills_fail_nothing(tree_.path(), mnt_, [this] { kill_daemon(); });
}

// Random I/O checked against a model (tests/support/file_exerciser.cpp, in the manner of fsx), a
// buffered and an O_DIRECT run at once, through a daemon killed about once a second: every
// operation succeeds and every read holds what the model says.
void random_io_through_kills(const fs::path& tree, const fs::path& mnt,
                             const std::function<void()>& replace_daemon) {
  fs::path stop = tree / "stop-io";
  std::vector<pid_t> runs;
  for (const char* mode : {"", "--direct"}) {
    std::string file = (mnt / (std::string("x") + mode)).string();
    std::string err = (tree / (std::string("err") + mode)).string();
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 2);
      std::string bin = file_exerciser_binary();
      std::vector<const char*> argv = {bin.c_str(), file.c_str(), "7",
                                       "60",        "--stop",     stop.c_str()};
      if (*mode != '\0') argv.push_back(mode);
      argv.push_back(nullptr);
      ::execv(bin.c_str(), const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    runs.push_back(pid);
  }
  for (int kill = 0; kill < kReplacements; ++kill) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500 + 97 * (kill % 5)));
    replace_daemon();
  }
  std::ofstream(stop).close();
  for (size_t i = 0; i < runs.size(); ++i) {
    int status = wait_exit(runs[i], std::chrono::seconds(30));
    if (status != 0) ::kill(runs[i], SIGKILL);
    std::ifstream err(tree / (i == 0 ? "err" : "err--direct"));
    std::string why((std::istreambuf_iterator<char>(err)), {});
    EXPECT_EQ(status, 0) << (i == 0 ? "buffered: " : "O_DIRECT: ") << why;
  }
}

TEST_F(ResumeTest, RandomIoThroughKillsLosesNothing) {
  start(",passthrough=off");
  random_io_through_kills(tree_.path(), mnt_, [this] { kill_daemon(); });
}

TEST_F(ResumeTest, RandomIoThroughKillsLosesNothingWithPassthrough) {
  start();
  random_io_through_kills(tree_.path(), mnt_, [this] { kill_daemon(); });
}

// A planned hand-over answers every request it took, long writes, fsyncs and mapped writes in
// flight included.
TEST_F(ResumeTest, RandomIoThroughPlannedRestartsLosesNothing) {
  start(",passthrough=off");
  random_io_through_kills(tree_.path(), mnt_, [this] { planned_restart(); });
}

// What a session does in its workspace, through a daemon killed every 0.3 s until it is done: a
// git clone (then fsck and a clean status), a tar extraction (compared with one made outside the
// mount), and a sqlite3 database in WAL mode under 20 transactions (integrity and content
// checked), two rounds. Each step fails the script on its first error.
TEST_F(ResumeTest, TreeWorkloadsThroughKillsEndAsWithout) {
  for (const char* program : {"git", "tar", "sqlite3", "diff"}) {
    if (std::system((std::string("command -v ") + program + " >/dev/null").c_str()) != 0) {
      GTEST_SKIP() << program << " is not installed";
    }
  }
  start();
  fs::path out = tree_.path() / "out";
  fs::path ref = tree_.path() / "ref";
  fs::create_directories(ref);
  std::string source = CONFINEFS_SOURCE_DIR;
  std::string tarball = (tree_.path() / "src.tar").string();
  ASSERT_EQ(
      std::system(("tar cf '" + tarball + "' -C '" + source +
                   "' fusefs docs tests cmd && tar xf '" + tarball + "' -C '" + ref.string() + "'")
                      .c_str()),
      0);
  std::string sql = (tree_.path() / "load.sql").string();
  {
    std::ofstream load(sql);
    load << "PRAGMA journal_mode=wal;\nCREATE TABLE t(x INTEGER, y TEXT);\n";
    for (int batch = 0; batch < 20; ++batch) {
      load << "BEGIN;\n";
      for (int i = 0; i < 50; ++i) {
        load << "INSERT INTO t VALUES(" << batch * 50 + i << ", hex(randomblob(64)));\n";
      }
      load << "COMMIT;\n";
    }
  }
  std::string script =
      "set -e; cd '" + mnt_.string() + "'; export HOME='" + tree_.path().string() +
      "' GIT_CONFIG_NOSYSTEM=1\n"
      "for round in 1 2; do\n"
      "git clone -q --no-hardlinks '" +
      source +
      "' repo$round\n"
      "git -C repo$round fsck --no-progress\n"
      "test -z \"$(git -C repo$round status --porcelain)\"\n"
      "test \"$(git -C repo$round rev-parse HEAD)\" = \"$(git -C '" +
      source +
      "' rev-parse HEAD)\"\n"
      "mkdir t$round && tar xf '" +
      tarball + "' -C t$round && diff -r t$round '" + ref.string() +
      "'\n"
      "sqlite3 w$round.db < '" +
      sql +
      "' >/dev/null\n"
      "test \"$(sqlite3 w$round.db 'PRAGMA integrity_check; SELECT count(*), sum(x) FROM t;')\" = "
      "\"$(printf 'ok\\n1000|499500')\"\n"
      "done\n";
  Ran ran = run_through_kills(script, out);
  EXPECT_EQ(ran.status, 0) << ran.output;
  EXPECT_GE(ran.kills, 3) << "the workload ran through kills";
}

// npm installs from its cache (filled outside the mount first, from the registry) through a
// daemon killed every 0.3 s: four projects, each with its bin link and modules that load.
TEST_F(ResumeTest, NpmInstallsFromTheCacheThroughKills) {
  if (std::system("command -v npm >/dev/null && command -v node >/dev/null") != 0) {
    GTEST_SKIP() << "npm is not installed";
  }
  std::string home = tree_.path().string();
  std::string cache = (tree_.path() / "npm-cache").string();
  std::string npm = "HOME='" + home + "' timeout 120 npm --cache '" + cache +
                    "' --no-audit --no-fund --no-update-notifier ";
  if (std::system((npm + "cache add is-number@7 semver@7 >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "the npm registry cannot be reached to fill the cache";
  }
  start();
  fs::path out = tree_.path() / "npm.out";
  std::string script =
      "set -e; cd '" + mnt_.string() + "'\nfor p in 1 2 3 4; do mkdir proj$p; (cd proj$p && " +
      npm + "install --offline is-number@7 semver@7 >/dev/null); (cd proj$p && " +
      "test \"$(./node_modules/.bin/semver -r '>=1.2' 1.2.3)\" = 1.2.3 && " +
      "test \"$(node -e \"console.log(require('is-number')(5))\")\" = true); done\n";
  Ran ran = run_through_kills(script, out);
  EXPECT_EQ(ran.status, 0) << ran.output;
  EXPECT_GE(ran.kills, 3) << "the installs ran through kills";
}

TEST_F(ResumeTest, ANodeReplacedWhileNoDaemonRanIsRefused) {
  start();
  int dir = ::open((mnt_ / "d").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  struct stat st {};
  ASSERT_EQ(::fstatat(dir, "f", &st, 0), 0);
  std::ofstream(state_ / "hold").close();
  ASSERT_EQ(::kill(daemon(), SIGKILL), 0);
  // While no daemon serves, an outside process swaps the directory for another one.
  fs::rename(backing_ / "d", backing_ / "d-old");
  fs::create_directories(backing_ / "d");
  write_file(backing_ / "d" / "f", "planted");
  fs::remove(state_ / "hold");
  ASSERT_TRUE(eventually([&] { return readies() == 2; }, 10s));
  // An open always reaches the daemon (attributes may come from the kernel's cache).
  EXPECT_EQ(::openat(dir, "f", O_RDONLY | O_CLOEXEC), -1) << "the old directory is not the new";
  EXPECT_EQ(errno, ESTALE);
  EXPECT_EQ(read_file(mnt_ / "d" / "f"), "planted") << "a fresh lookup finds what is there now";
  ::close(dir);
}

// A successor finds BACKING bound onto itself by the first daemon. Serving from that bind, a
// directory an outside process moves out of BACKING would still count as beneath it for Landlock
// (the walk up ends at the bind's mount point) and take the session's creates: the successor
// serves from the directory underneath (cmd/backing_mount.cpp). Fails without it: the create
// lands in the moved directory.
TEST_F(ResumeTest, ASuccessorStillRefusesWritesIntoADirectoryMovedOut) {
  fs::create_directories(tree_.path() / "attic");
  // Held from before the first daemon bound BACKING: renames out of it still work.
  int held = ::open(backing_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  start();
  planned_restart();
  fs::create_directories(mnt_ / "w");
  int dir = ::open((mnt_ / "w").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  ASSERT_EQ(::renameat(held, "w", AT_FDCWD, (tree_.path() / "attic" / "w").c_str()), 0);
  int fd = ::openat(dir, "planted", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  EXPECT_LT(fd, 0) << "a create through a directory moved out of BACKING";
  EXPECT_FALSE(fs::exists(tree_.path() / "attic" / "w" / "planted"));
  ::close(dir);
  ::close(held);
}

// FIFOs made through the mount are served as FIFOs only from the daemon's own record
// (objects/made_here.h); the record outlives the daemon with the rest of its state. Fails when
// it does not: after the restart the FIFO is the regular file it is on the host.
TEST_F(ResumeTest, FifosMadeThroughTheMountOutliveTheDaemon) {
  start();
  ASSERT_EQ(::mkfifo((mnt_ / "d" / "pipe").c_str(), 0644), 0);
  kill_daemon();
  planned_restart();
  std::ofstream("/proc/sys/vm/drop_caches") << "2\n";  // the next stat is a LOOKUP
  struct stat st {};
  ASSERT_EQ(::stat((mnt_ / "d" / "pipe").c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << std::oct << st.st_mode;
  ASSERT_EQ(::unlink((mnt_ / "d" / "pipe").c_str()), 0);
  ASSERT_EQ(::mkfifo((mnt_ / "d" / "again").c_str(), 0644), 0);
  kill_daemon();
  std::ofstream("/proc/sys/vm/drop_caches") << "2\n";
  ASSERT_EQ(::stat((mnt_ / "d" / "again").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "made by a resumed daemon";
  EXPECT_NE(::stat((mnt_ / "d" / "pipe").c_str(), &st), 0) << "its removal outlived it too";
}

TEST_F(ResumeTest, StoppingUnmountsAndLeavesNoDaemon) {
  start();
  pid_t served_by = daemon();
  stop();
  EXPECT_FALSE(is_mounted(mnt_));
  EXPECT_NE(::kill(served_by, 0), 0);
}

TEST_F(ResumeTest, TheMountIsTakenOverOnlyWhileItIsThere) {
  start();
  std::ofstream(state_ / "hold").close();
  pid_t first = daemon();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // Unmounted from outside while no daemon served: the stored connection serves no mount now.
  ASSERT_TRUE(eventually([&] { return ::kill(first, 0) != 0; }, 5s));
  ASSERT_EQ(run_command({"umount", "-l", mnt_.string()}), 0);
  fs::remove(state_ / "hold");
  ASSERT_TRUE(eventually([&] { return readies() == 2; }, 10s));
  EXPECT_TRUE(is_mounted(mnt_)) << "mounted afresh";
  EXPECT_EQ(read_file(mnt_ / "d" / "f"), "hello");
}

}  // namespace
}  // namespace confinefs::testing
