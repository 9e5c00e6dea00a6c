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
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "fusefs/fd.h"
#include "fusefs/sys/mountinfo.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {
namespace {

constexpr auto kAnswerWait = std::chrono::seconds(3);

enum class Answer { kServed, kGone, kSilent };

// statfs, not stat: the kernel answers stat from its attribute cache (up to an hour with
// cache=full) even when the daemon is gone, but always asks the daemon for statfs. A daemon that
// is stopped or stuck never answers, so a child process asks, and is killed (the kernel's wait
// is killable) when no answer came within kAnswerWait. A child, not a thread: a thread would
// stay blocked in the kernel until this process exits.
Answer ask_daemon(FdRef top) {
  auto ends = sys::pipe(O_CLOEXEC);
  if (!ends) return Answer::kSilent;
  Fd from_child = std::move(ends->read), to_parent = std::move(ends->write);
  pid_t child = ::fork();
  if (child < 0) return Answer::kSilent;
  if (child == 0) {
    struct statfs sfs {};
    char gone = ::fstatfs(top.get(), &sfs) != 0 && errno == ENOTCONN ? 1 : 0;
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

// The mountinfo line of the mount with that id.
std::optional<MountEntry> mount_entry(uint64_t id) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto e = sys::parse_mountinfo_line(line);
    if (e && e->id == id) return e;
  }
  return std::nullopt;
}

// The ids of what is mounted on the place's directory, with its mountinfo line; nullopt when
// nothing is (the top directory is on the parent's mount), or it cannot be opened.
struct Top {
  Fd fd;
  MountIdentity ids;
  MountEntry entry;
};
std::optional<Top> mounted_top(const MountPlace& place) {
  auto fd = place.open_top();
  if (!fd) return std::nullopt;
  MountIdentity ids = statx_mount_ids(fd->get(), "", AT_EMPTY_PATH);
  MountIdentity under = statx_mount_ids(place.parent().get(), "", AT_EMPTY_PATH);
  if (ids.id == 0 || ids.id == under.id) return std::nullopt;
  auto entry = mount_entry(ids.id);
  if (!entry) entry = MountEntry{ids.id, 0, "", place.canonical(), "?", "?"};
  return Top{std::move(fd.value()), ids, std::move(*entry)};
}

}  // namespace

MountProbe probe_mountpoint(const MountPlace& place) {
  MountProbe probe;
  auto top = mounted_top(place);
  if (!top) return probe;
  probe.entry = std::move(top->entry);
  probe.ids = top->ids;
  if (probe.entry.fstype != kFsType) {
    probe.state = MountState::kOther;
    return probe;
  }
  switch (ask_daemon(top->fd.ref())) {
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

MountIdentity mount_identity_at(const MountPlace& place) {
  auto top = mounted_top(place);
  if (!top || top->entry.fstype != kFsType) return {};
  return top->ids;
}

Result<void> unmount_if(const MountPlace& place, const MountIdentity& expected) {
  auto top = mounted_top(place);
  if (!top || expected.id == 0 || top->ids.id != expected.id ||
      (expected.unique_id != 0 && top->ids.unique_id != expected.unique_id)) {
    return Error{ENOENT};
  }
  if (::geteuid() == 0) {
    // The magic link names exactly the mount whose ids were just read from this fd.
    std::string self = "/proc/self/fd/" + std::to_string(top->fd.get());
    if (::umount2(self.c_str(), MNT_DETACH) != 0) return last_error();
    return {};
  }
  if (int err = run_fusermount_unmount(place.canonical()); err != 0) return Error{err};
  return {};
}

Phase<> clear_stale_mount(const MountPlace& place) {
  const std::string& canonical = place.canonical();
  // Several crashed starts may have stacked stale mounts; each pass removes the topmost.
  for (int pass = 0; pass < 8; ++pass) {
    MountProbe probe = probe_mountpoint(place);
    switch (probe.state) {
      case MountState::kFree: return {};
      case MountState::kLive:
        return Failure::usage("mountpoint " + canonical +
                              " is already a live confinefs mount (source " + probe.entry.source +
                              "); stop that daemon first");
      case MountState::kSilent:
        return Failure::usage(
            "mountpoint " + canonical + " is a confinefs mount whose daemon does not answer " +
            "(stopped or stuck; source " + probe.entry.source + "); stop that daemon first");
      case MountState::kOther:
        return Failure::usage("mountpoint " + canonical + " is the root of another filesystem (" +
                              probe.entry.fstype + " from " + probe.entry.source +
                              "); refusing to mount over it");
      case MountState::kStale: break;
    }
    spdlog::warn(
        "mountpoint {}: stale confinefs mount (transport endpoint is not connected); "
        "unmounting it lazily",
        canonical);
    if (auto ok = unmount_if(place, probe.ids); !ok && ok.code() != ENOENT) {
      return Failure::usage(
          with_errno("cannot unmount the stale mount at " + canonical, ok.code()));
    }
  }
  return Failure::usage("mountpoint " + canonical + ": stale mounts keep coming back");
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

}  // namespace confinefs::cmd
