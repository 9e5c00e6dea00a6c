#include "cmd/stale_mount.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fusefs/sys/fd.h"
#include "fusefs/sys/mountinfo.h"

namespace confinefs::cli {
namespace {

constexpr auto kAnswerWait = std::chrono::seconds(3);

enum class Answer { kServed, kGone, kSilent };

// statfs, not stat: the kernel answers stat from its attribute cache (up to an hour with
// cache=full) even when the daemon is gone, but always asks the daemon for statfs. A daemon that
// is stopped or stuck never answers, so a child process asks, and is killed (the kernel's wait
// is killable) when no answer came within kAnswerWait. A child, not a thread: a thread would
// stay blocked in the kernel until this process exits.
Answer ask_daemon(const std::string& canonical) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return Answer::kSilent;
  Fd from_child(ends[0]), to_parent(ends[1]);
  pid_t child = ::fork();
  if (child < 0) return Answer::kSilent;
  if (child == 0) {
    struct statfs sfs {};
    char gone = ::statfs(canonical.c_str(), &sfs) != 0 && errno == ENOTCONN ? 1 : 0;
    _exit(::write(to_parent.get(), &gone, 1) == 1 ? 0 : 1);
  }
  to_parent.reset();
  pollfd p{from_child.get(), POLLIN, 0};
  int wait_ms = static_cast<int>(std::chrono::milliseconds(kAnswerWait).count());
  char gone = 0;
  bool answered = ::poll(&p, 1, wait_ms) == 1 && ::read(from_child.get(), &gone, 1) == 1;
  if (!answered) {
    ::kill(child, SIGKILL);
    // Gone at once, unless the daemon had already read the request: the kernel then waits for
    // its answer whatever the signal, and the child is left for init to reap.
    for (int i = 0; i < 20 && ::waitpid(child, nullptr, WNOHANG) == 0; ++i) ::usleep(5000);
    return Answer::kSilent;
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return gone ? Answer::kGone : Answer::kServed;
}

int run_fusermount_unmount(const std::string& path) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "-z", "-q", "--", path.c_str(),
             static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EPERM;
}

}  // namespace

std::string canonical_mountpoint(const std::string& path) {
  if (path.empty()) return "";
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.find_last_of('/');
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  if (base == "." || base == ".." || p == "/") {
    parent = p;
    base.clear();
  }
  char real[PATH_MAX];
  if (::realpath(parent.c_str(), real) == nullptr) return "";
  std::string out(real);
  if (base.empty()) return out;
  return out == "/" ? "/" + base : out + "/" + base;
}

std::optional<MountEntry> top_mount_at(const std::string& canonical) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<MountEntry> top;
  while (std::getline(in, line)) {
    auto e = sys::parse_mountinfo_line(line);
    // later lines are mounted on top
    if (e && e->mount_point == canonical) top = std::move(e);
  }
  return top;
}

MountProbe probe_mountpoint(const std::string& canonical) {
  MountProbe probe;
  auto top = top_mount_at(canonical);
  if (!top) return probe;
  probe.entry = std::move(*top);
  if (probe.entry.fstype != kFsType) {
    probe.state = MountState::kOther;
    return probe;
  }
  switch (ask_daemon(canonical)) {
    case Answer::kServed: probe.state = MountState::kLive; break;
    case Answer::kGone: probe.state = MountState::kStale; break;
    case Answer::kSilent: probe.state = MountState::kSilent; break;
  }
  return probe;
}

MountIdentity statx_mount_ids(int dirfd, const char* path, int flags) {
#ifndef STATX_MNT_ID_UNIQUE
  constexpr unsigned STATX_MNT_ID_UNIQUE = 0x4000U;  // Linux 6.8; not in Debian 12's headers
#endif
  // AT_STATX_DONT_SYNC: answered from the kernel's cache, never by asking the FUSE daemon (which
  // may not serve yet, or any more).
  flags |= AT_STATX_DONT_SYNC | AT_NO_AUTOMOUNT;
  struct statx stx {};
  if (::statx(dirfd, path, flags, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID)) {
    return {};
  }
  MountIdentity ids{stx.stx_mnt_id, 0};
  // One id per call: the kernel fills stx_mnt_id with whichever of the two was asked for.
  if (::statx(dirfd, path, flags, STATX_MNT_ID_UNIQUE, &stx) == 0 &&
      (stx.stx_mask & STATX_MNT_ID_UNIQUE)) {
    ids.unique_id = stx.stx_mnt_id;
  }
  return ids;
}

MountIdentity mount_identity_at(const std::string& canonical) {
  auto top = top_mount_at(canonical);
  if (!top || top->fstype != kFsType) return {};
  auto ids = statx_mount_ids(AT_FDCWD, canonical.c_str(), 0);
  return ids.id == top->id ? ids : MountIdentity{};
}

bool still_mounted(const std::string& canonical, const MountIdentity& ours) {
  auto now = mount_identity_at(canonical);
  return now.id != 0 && now.id == ours.id &&
         (ours.unique_id == 0 || now.unique_id == ours.unique_id);
}

Result<void> lazy_unmount(const std::string& canonical) {
  if (::geteuid() == 0) {
    if (::umount2(canonical.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) return last_error();
    return {};
  }
  if (int err = run_fusermount_unmount(canonical); err != 0) return Error{err};
  return {};
}

std::string clear_stale_mount(const std::string& mountpoint) {
  if (mountpoint.starts_with("/dev/fd/")) return "";  // mount.fuse3 mounted it for us
  std::string canonical = canonical_mountpoint(mountpoint);
  if (canonical.empty()) return "mountpoint " + mountpoint + ": " + std::strerror(errno);
  // Several crashed starts may have stacked stale mounts; each pass removes the topmost.
  for (int pass = 0; pass < 8; ++pass) {
    MountProbe probe = probe_mountpoint(canonical);
    switch (probe.state) {
      case MountState::kFree: return "";
      case MountState::kLive:
        return "mountpoint " + canonical + " is already a live confinefs mount (source " +
               probe.entry.source + "); stop that daemon first";
      case MountState::kSilent:
        return "mountpoint " + canonical + " is a confinefs mount whose daemon does not answer " +
               "(stopped or stuck; source " + probe.entry.source + "); stop that daemon first";
      case MountState::kOther:
        return "mountpoint " + canonical + " is the root of another filesystem (" +
               probe.entry.fstype + " from " + probe.entry.source + "); refusing to mount over it";
      case MountState::kStale: break;
    }
    spdlog::warn(
        "mountpoint {}: stale confinefs mount (transport endpoint is not connected); "
        "unmounting it lazily",
        canonical);
    if (auto ok = lazy_unmount(canonical); !ok) {
      return "cannot unmount the stale mount at " + canonical + ": " + std::strerror(ok.code());
    }
  }
  return "mountpoint " + canonical + ": stale mounts keep coming back";
}

const char* state_name(MountState s) noexcept {
  switch (s) {
    case MountState::kFree: return "not mounted";
    case MountState::kStale: return "stale";
    case MountState::kLive: return "live";
    case MountState::kOther: return "other filesystem";
    case MountState::kSilent: return "not answering";
  }
  return "?";
}

}  // namespace confinefs::cli
