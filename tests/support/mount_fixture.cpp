#include "tests/support/mount_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace confinefs::testing {

TempTree::TempTree() {
  char tmpl[] = "/tmp/confinefs-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
}

namespace {

// Every line of /proc/self/mountinfo with its mount point (field 5), in mount order.
std::vector<std::pair<std::string, std::string>> mount_lines() {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::pair<std::string, std::string>> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 5 && fields >> f; ++i) {
    }
    lines.emplace_back(f, line);
  }
  return lines;
}

}  // namespace

std::vector<std::string> mounts_under(const fs::path& dir) {
  std::vector<std::string> points;
  for (const auto& [point, line] : mount_lines()) {
    if (point == dir.string() || point.starts_with(dir.string() + "/")) points.push_back(point);
  }
  return {points.rbegin(), points.rend()};
}

TempTree::~TempTree() {
  // The daemon leaves BACKING bound onto itself (cmd/backing_mount.h); a test's tree goes whole.
  for (const auto& point : mounts_under(root_)) ::umount2(point.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string mountinfo_line(const fs::path& path) {
  std::string top;  // later lines are mounted on top
  for (const auto& [point, line] : mount_lines()) {
    if (point == path.string()) top = line;
  }
  return top;
}

std::vector<std::string> daemon_environment() {
  // Under AddressSanitizer, LeakSanitizer's stop-the-world uses ptrace, which a daemon that has
  // confined itself (no_new_privs, Landlock) cannot do: it would turn every clean exit into a
  // fatal error. The daemon runs without leak detection; the test processes keep it.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("ASAN_OPTIONS=")) env.emplace_back(*e);
  }
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.push_back(std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                "detect_leaks=0");
  return env;
}

void exec_daemon(std::vector<std::string> argv, std::vector<std::string> env) {
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::execve(args[0], args.data(), envp.data());
  _exit(127);
}

bool is_mounted(const fs::path& path) { return !mountinfo_line(path).empty(); }

bool eventually(const std::function<bool()>& holds, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!holds()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& ch : s) {
    x = x * 1103515245u + 12345u;
    ch = static_cast<char>(x >> 16);
  }
  return s;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = -1;
  bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  return exited ? status : -1;
}

std::string status_field(const fs::path& mnt, const std::string& key) {
  std::string cmd = "'" + confinefs_binary() + "' status '" + mnt.string() + "' 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  std::string value;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string l(line);
    if (l.rfind(key + "=", 0) == 0) value = l.substr(key.size() + 1, l.find('\n') - key.size() - 1);
  }
  ::pclose(p);
  return value;
}

uint64_t reloads_done(const fs::path& mnt) {
  auto number = [&](const char* key) {
    std::string v = status_field(mnt, key);
    return v.empty() ? uint64_t{0} : std::stoull(v);
  };
  return number("reloads") + number("reloads_refused");
}

std::string file_exerciser_binary() {
#ifdef FILE_EXERCISER_BIN
  return FILE_EXERCISER_BIN;
#else
  return "file-exerciser";
#endif
}

std::string casefold_fs_binary() {
#ifdef CASEFOLD_FS_BIN
  return CASEFOLD_FS_BIN;
#else
  return "build/bin/casefold-fs";
#endif
}

std::string confinefs_binary() {
  if (const char* env = std::getenv("CONFINEFS_BIN")) return env;
#ifdef CONFINEFS_BIN
  return CONFINEFS_BIN;
#else
  return "build/bin/confinefs";
#endif
}

int run_command(const std::vector<std::string>& argv, const fs::path& cwd) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int open_errno(const fs::path& p, int flags, mode_t mode) {
  int fd = ::open(p.c_str(), flags, mode);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + p.string());
  out << content;
}

Mount::Mount(std::vector<std::string> extra_args)
    : backing_(tree_.path() / "backing"),
      mnt_(tree_.path() / "mnt"),
      outside_(tree_.path() / "outside") {
  fs::create_directories(backing_);
  start(std::move(extra_args));
}

Mount::Mount(const fs::path& shared_backing, std::vector<std::string> extra_args)
    : backing_(shared_backing), mnt_(tree_.path() / "mnt"), outside_(tree_.path() / "outside") {
  start(std::move(extra_args));
}

void Mount::start(std::vector<std::string> extra_args) {
  fs::create_directories(mnt_);
  fs::create_directories(outside_);
  backing_before_ = Fd(::open(backing_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::vector<std::string> argv = {confinefs_binary(), "-f", "--log-level", "warn"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.push_back(backing_.string());
  argv.push_back(mnt_.string());
  std::vector<std::string> env = daemon_environment();
  pid_ = ::fork();
  if (pid_ == 0) exec_daemon(argv, env);
  for (int i = 0; i < 500 && !ready_; ++i) {
    if (is_mounted(mnt_)) {
      ready_ = true;
      break;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Mount::link_from_before(const fs::path& target, const std::string& name) const {
  return ::linkat(AT_FDCWD, target.c_str(), backing_before_.get(), name.c_str(), 0) == 0 ? 0
                                                                                         : errno;
}

fs::path Mount::path_before(const std::string& rel) const {
  return fs::path("/proc/self/fd") / std::to_string(backing_before_.get()) / rel;
}

size_t Mount::daemon_fd_count() const {
  // Only fds that name files or directories: libfuse's per-worker splice pipes and /dev/fuse
  // clones grow with the number of worker threads, not with the nodes the daemon holds.
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid_) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    std::string target = fs::read_symlink(it->path(), link_ec).string();
    if (link_ec || target.starts_with("pipe:") || target.starts_with("socket:") ||
        target.starts_with("anon_inode:") || target == "/dev/fuse") {
      continue;
    }
    ++n;
  }
  return n;
}

int Mount::unmount() {
  if (pid_ < 0) return exit_status_;
  run_command({"fusermount3", "-u", "-q", mnt_.string()});
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (i == 500) ::kill(pid_, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (i == 999) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      run_command({"umount", "-l", mnt_.string()});
    }
  }
  pid_ = -1;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_status_;
}

Mount::~Mount() {
  bool was_running = pid_ >= 0;
  int status = unmount();
  if (was_running && status != 0) ADD_FAILURE() << "confinefs exited with status " << status;
}

}  // namespace confinefs::testing
