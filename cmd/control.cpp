#include "cmd/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cmd/mount_record.h"
#include "cmd/stale_mount.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {
namespace {

constexpr int kExitLive = 0;
constexpr int kExitProblem = 1;     // stale, not answering, or not ours
constexpr int kExitNotMounted = 3;  // status: nothing is mounted there
// Usage errors (a MOUNTPOINT that cannot be named) are Exit::kUsage, as everywhere in cmd/.

// FNV-1a: a short stable name for any mountpoint path (sun_path holds only 108 bytes).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error{ENAMETOOLONG};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// The directory must be ours and closed to everyone else, or the socket is not root-only.
Result<void> prepare_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return last_error();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return last_error();
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 0077) != 0) {
    return Error{EPERM};
  }
  return {};
}

Result<Fd> connect_to(const std::string& path) {
  auto addr = address_of(path);
  if (!addr) return addr.error();
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return last_error();
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un)) !=
      0) {
    return last_error();
  }
  return s;
}

std::string read_all(FdRef fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

std::string control_dir() {
  const char* env = std::getenv("CONFINEFS_RUN_DIR");
  return env != nullptr && *env != '\0' ? env : "/run/confinefs";
}

Result<void> prepare_control_dir() { return prepare_dir(control_dir()); }

std::string control_socket_path(const std::string& canonical_mountpoint) {
  char name[40];
  std::snprintf(name, sizeof name, "/%016llx.sock",
                static_cast<unsigned long long>(fnv1a(canonical_mountpoint)));
  return control_dir() + name;
}

ControlServer::ControlServer(Fd listener, Fd stop_read, Fd stop_write,
                             std::function<std::string()> status)
    : listener_(std::move(listener)),
      stop_read_(std::move(stop_read)),
      stop_write_(std::move(stop_write)),
      status_(std::move(status)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::bind(const std::string& path,
                                                           std::function<std::string()> status) {
  auto addr = address_of(path);
  if (!addr) return addr.error();
  if (auto ok = prepare_control_dir(); !ok) return ok.error();
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return last_error();
  ::unlink(path.c_str());  // a socket left by a crashed daemon; the mountpoint was checked free
  mode_t old = ::umask(0177);
  int rc = ::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr.value()), sizeof(sockaddr_un));
  int err = errno;
  ::umask(old);
  if (rc != 0) return Error{err};
  if (::listen(s.get(), 8) != 0) return last_error();
  auto stop = sys::pipe(O_CLOEXEC);
  if (!stop) return stop.error();
  return std::unique_ptr<ControlServer>(new ControlServer(
      std::move(s), std::move(stop->read), std::move(stop->write), std::move(status)));
}

void ControlServer::start() {
  thread_ = std::thread([this] { serve(); });
}

void ControlServer::serve() {
  pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    Fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.valid()) answer(std::move(client));
  }
}

void ControlServer::answer(Fd client) {
  ucred peer{};
  socklen_t len = sizeof peer;
  // The directory already keeps others out; this is the second lock on the same door.
  if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != 0) {
    return;
  }
  std::string text = status_();
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::send(client.get(), text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

ControlServer::~ControlServer() {
  if (!thread_.joinable()) return;
  char byte = 1;
  [[maybe_unused]] auto n = ::write(stop_write_.get(), &byte, 1);
  thread_.join();
}

Phase<MountPlace> place_of(const std::string& mountpoint) {
  auto place = MountPlace::open(mountpoint);
  if (!place) return place.error();
  if (auto top = place->open_top(); !top && top.code() == ELOOP) {
    return Failure::usage(place->canonical() + " is a symbolic link; give the real directory");
  }
  return std::move(place.value());
}

int status_command(const std::string& mountpoint) {
  auto place = place_of(mountpoint);
  if (!place) return report(place.error());
  const std::string& canonical = place->canonical();
  MountProbe probe = probe_mountpoint(*place);
  std::printf("mountpoint=%s\nstate=%s\n", canonical.c_str(), state_name(probe.state));
  if (probe.state == MountState::kFree) return kExitNotMounted;
  if (probe.state != MountState::kLive) return kExitProblem;
  auto s = connect_to(control_socket_path(canonical));
  if (!s) {
    std::fprintf(stderr, "confinefs: control socket %s: %s%s\n",
                 control_socket_path(canonical).c_str(), std::strerror(s.code()),
                 s.code() == EACCES ? " (status needs root)" : "");
    return kExitProblem;
  }
  std::string text = read_all(s->ref());
  std::fputs(text.c_str(), stdout);
  return text.empty() ? kExitProblem : kExitLive;
}

int unmount_stale_command(const std::string& mountpoint) {
  auto place = place_of(mountpoint);
  if (!place) return report(place.error());
  const std::string& canonical = place->canonical();
  MountProbe probe = probe_mountpoint(*place);
  if (probe.state == MountState::kLive || probe.state == MountState::kOther ||
      probe.state == MountState::kSilent) {
    std::fprintf(stderr, "confinefs: %s: %s mount (%s), left alone\n", canonical.c_str(),
                 state_name(probe.state), probe.entry.fstype.c_str());
    return kExitProblem;
  }
  if (auto cleared = clear_stale_mount(*place); !cleared) {
    report(cleared.error());
    return kExitProblem;
  }
  // No live daemon owns the socket now (the mount is gone): remove what a crash left.
  ::unlink(control_socket_path(canonical).c_str());
  if (::geteuid() == 0) forget_mount(canonical);
  if (probe.state == MountState::kStale)
    std::printf("unmounted stale mount at %s\n", canonical.c_str());
  return 0;
}

}  // namespace confinefs::cmd
