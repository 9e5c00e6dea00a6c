#include "cmd/older_views.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "fusefs/sys/mountinfo.h"

namespace confinefs::cmd {
namespace {

// Deep enough for any tree the daemon serves (lookups stop far earlier).
constexpr int kMaxClimb = 4096;
// The scan runs in a child that is killed after this: a candidate path in another namespace may
// cross a filesystem whose server does not answer.
constexpr int kScanMs = 5000;

struct Where {
  dev_t dev;
  ino_t ino;
  bool mount_root;
};

// Never asks a filesystem (AT_STATX_DONT_SYNC): only what the kernel holds.
std::optional<Where> where(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
              STATX_TYPE | STATX_INO, &stx) != 0 ||
      !S_ISDIR(stx.stx_mode)) {
    return std::nullopt;
  }
  return Where{makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino,
               (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0};
}

// Whether the directory dir reaches BACKING's tree on a mount where BACKING is no mount root.
// `..` is resolved in the dentry cache and climbs out of mounts to the directory below.
bool views_backing(Fd dir, const struct stat& backing) {
  auto here = where(dir.get());
  if (!here || here->dev != backing.st_dev) return false;  // another filesystem
  for (int i = 0; i < kMaxClimb && here; ++i) {
    if (here->dev == backing.st_dev && here->ino == backing.st_ino) return !here->mount_root;
    Fd up(::openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up.valid()) return false;
    auto above = where(up.get());
    if (!above || (above->dev == here->dev && above->ino == here->ino)) return false;  // a root
    dir = std::move(up);
    here = above;
  }
  return false;
}

Fd open_at(int dir, const char* name, int flags) {
  return Fd(::openat(dir, name, flags | O_CLOEXEC));
}

std::string comm_of(int proc_pid) {
  Fd f = open_at(proc_pid, "comm", O_RDONLY);
  char buf[64] = {};
  ssize_t n = f.valid() ? ::read(f.get(), buf, sizeof buf - 1) : -1;
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string link_of(int dir, const char* name) {
  char buf[256];
  ssize_t n = ::readlinkat(dir, name, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// BACKING's path within its filesystem: the root of the mount that is BACKING's topmost now
// (the bind of BACKING onto itself, or its own mount), found by mount id.
std::string path_in_filesystem(const std::string& backing_path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, backing_path.c_str(), AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT, STATX_MNT_ID,
              &stx) != 0) {
    return "";
  }
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto e = sys::parse_mountinfo_line(line);
    if (e && e->id == stx.stx_mnt_id) return e->root;
  }
  return "";
}

// Where, in a namespace whose mounts mountinfo lists, BACKING's filesystem path would show:
// under every mount of that filesystem whose root holds it.
std::vector<std::string> candidate_paths(std::istream& mountinfo, dev_t dev,
                                         const std::string& in_fs) {
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(mountinfo, line)) {
    auto e = sys::parse_mountinfo_line(line);
    if (!e || e->device != dev) continue;
    const std::string& root = e->root;
    bool holds = root == "/" || in_fs == root || in_fs.starts_with(root + "/");
    if (!holds) continue;
    std::string rest = root == "/" ? in_fs : in_fs.substr(root.size());
    std::string path = e->mount_point == "/" ? rest : e->mount_point + rest;
    paths.push_back(path.empty() ? "/" : path);
  }
  return paths;
}

// Opens path as the namespace whose root is root_fd sees it, from the dentry cache only
// (RESOLVE_CACHED): a component on a filesystem whose server never answers (a user's own FUSE
// mount in its own namespace) must not hang this root-run scan. A path not cached is not opened.
Fd open_in_root(int root_fd, const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_CACHED;
  std::string rel = path.substr(
      path.find_first_not_of('/') == std::string::npos ? path.size() : path.find_first_not_of('/'));
  if (rel.empty()) rel = ".";
  return Fd(static_cast<int>(::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how)));
}

void report(std::ostream& out, const std::string& pid, const std::string& comm,
            const std::string& how) {
  out << pid << '\t' << comm << '\t' << how << '\n';
}

// The scan itself (in the child): one line per view found.
void scan(std::ostream& out, const struct stat& backing, const std::string& backing_path,
          pid_t self) {
  const std::string in_fs = path_in_filesystem(backing_path);
  std::set<std::string> namespaces_seen;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    Fd dir = open_at(::dirfd(proc), e->d_name, O_PATH | O_DIRECTORY);
    if (!dir.valid()) continue;
    const std::string comm = comm_of(dir.get());
    for (const char* which : {"cwd", "root"}) {
      if (views_backing(open_at(dir.get(), which, O_PATH | O_DIRECTORY), backing)) {
        report(out, e->d_name, comm, which);
      }
    }
    if (DIR* fds = ::fdopendir(::openat(dir.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC))) {
      while (dirent* f = ::readdir(fds)) {
        if (f->d_name[0] == '.') continue;
        if (views_backing(open_at(::dirfd(fds), f->d_name, O_PATH), backing)) {
          report(out, e->d_name, comm, std::string("fd ") + f->d_name);
        }
      }
      ::closedir(fds);
    }
    // Each mount namespace once (this process's own too: a bind of a parent made elsewhere).
    std::string ns = link_of(dir.get(), "ns/mnt");
    if (in_fs.empty() || ns.empty() || !namespaces_seen.insert(ns).second) continue;
    std::ifstream mountinfo("/proc/" + std::string(e->d_name) + "/mountinfo");
    Fd root = open_at(dir.get(), "root", O_PATH | O_DIRECTORY);
    if (!root.valid()) continue;
    for (const std::string& path : candidate_paths(mountinfo, backing.st_dev, in_fs)) {
      if (views_backing(open_in_root(root.get(), path), backing)) {
        report(out, e->d_name, comm, "path " + path + " in its mount namespace");
      }
    }
  }
  ::closedir(proc);
}

}  // namespace

std::vector<OlderView> find_older_views(const struct stat& backing,
                                        const std::string& backing_path) {
  // A scan that cannot run is no proof that nothing is there.
  const std::vector<OlderView> not_run = {{0, "?", "the scan of /proc could not run"}};
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return not_run;
  Fd from_child(ends[0]), to_parent(ends[1]);
  const pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child < 0) return not_run;
  if (child == 0) {
    std::ostringstream out;
    scan(out, backing, backing_path, self);
    std::string text = out.str();
    for (size_t at = 0; at < text.size();) {
      ssize_t n = ::write(to_parent.get(), text.data() + at, text.size() - at);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    _exit(0);
  }
  to_parent.reset();
  std::string text;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    pollfd p{from_child.get(), POLLIN, 0};
    if (::poll(&p, 1, kScanMs) != 1) {
      ::kill(child, SIGKILL);
      spdlog::warn(
          "the scan for views of BACKING older than its mount did not finish within {} ms"
          " (a filesystem did not answer); what it found so far is reported",
          kScanMs);
      timed_out = true;
      break;
    }
    ssize_t n = ::read(from_child.get(), buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  // A child killed while the kernel waits on a filesystem for it may not go at once: it is left
  // for init then, never waited on.
  for (int i = 0; i < (timed_out ? 20 : 1000000); ++i) {
    pid_t done = ::waitpid(child, nullptr, timed_out ? WNOHANG : 0);
    if (done == child || (done < 0 && errno != EINTR)) break;
    if (timed_out) ::usleep(5000);
  }
  std::vector<OlderView> views;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    OlderView v;
    std::string pid;
    if (std::getline(fields, pid, '\t') && std::getline(fields, v.comm, '\t') &&
        std::getline(fields, v.how)) {
      v.pid = static_cast<pid_t>(std::atol(pid.c_str()));
      if (v.pid != child) views.push_back(std::move(v));
    }
  }
  return views;
}

std::string describe(const OlderView& view) {
  return "pid " + std::to_string(view.pid) + " (" + view.comm + "): " + view.how;
}

}  // namespace confinefs::cmd
