#include "tests/deploy/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/mount_fixture.h"

extern char** environ;

namespace confinefs::testing {
namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

Daemon::Daemon(std::vector<std::string> args, std::vector<std::string> env) {
  char tmpl[] = "/tmp/confinefs-daemon-log-XXXXXX";
  int log_fd = ::mkstemp(tmpl);
  log_ = tmpl;
  args.insert(args.begin(), confinefs_binary());
  // Ours first: getenv() takes the first match.
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log_fd, 2);
    exec_daemon(args, env);
  }
  ::close(log_fd);
}

bool Daemon::running() {
  if (pid_ < 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    return false;
  }
  return true;
}

bool Daemon::signal(int sig) { return running() && ::kill(pid_, sig) == 0; }

int Daemon::wait_exit(int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (!running()) return status_;
    sleep_ms(10);
  }
  return -2;
}

std::string Daemon::log() const {
  std::ifstream in(log_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Daemon::~Daemon() {
  if (running()) {
    ::kill(pid_, SIGTERM);
    if (wait_exit(5000) == -2) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  fs::remove(log_, ec);
}

bool wait_mounted(const fs::path& path, bool mounted, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (is_mounted(path) == mounted) {
      // stat() waits for the daemon to answer INIT, which it does only from serve(), after it
      // has confined itself: from here on /proc shows the final state.
      struct stat st {};
      if (mounted) ::stat(path.c_str(), &st);
      return true;
    }
    sleep_ms(10);
  }
  return false;
}

std::string proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      auto v = line.substr(field.size() + 1);
      auto first = v.find_first_not_of(" \t");
      return first == std::string::npos ? "" : v.substr(first);
    }
  }
  return "";
}

pid_t first_child(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = -1;
  if (in >> child) return child;
  return -1;
}

std::pair<int, std::string> capture(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return {-1, ""};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void force_unmount(const fs::path& path) {
  for (int i = 0; i < 8 && is_mounted(path); ++i) ::umount2(path.c_str(), MNT_DETACH);
}

void DaemonTest::SetUp() {
  if (::geteuid() != 0 || ::access("/dev/fuse", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "needs root and /dev/fuse";
  }
  backing_ = tree_.path() / "backing";
  mnt_ = tree_.path() / "mnt";
  outside_ = tree_.path() / "outside";
  for (const auto& d : {backing_, mnt_, outside_}) fs::create_directories(d);
  backing_before_ = Fd(::open(backing_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

std::vector<std::string> DaemonTest::args(std::vector<std::string> extra) const {
  std::vector<std::string> a = {"-f"};
  a.insert(a.end(), extra.begin(), extra.end());
  a.push_back(backing_.string());
  a.push_back(mnt_.string());
  return a;
}

}  // namespace confinefs::testing
