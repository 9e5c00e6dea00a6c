#include "cmd/unmount_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cmd/backing_mount.h"
#include "cmd/mount_record.h"
#include "cmd/privileges.h"
#include "cmd/stale_mount.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {
namespace {

constexpr int kRequestFd = 3;
constexpr int kReplyFd = 4;
constexpr int kPlaceFd = 5;
constexpr int kBindFd = 6;  // the root of the bind of BACKING the daemon made (or closed)

// Unmounts only the mount the daemon made (ENOENT from unmount_if: it is gone, or not ours).
int cleanup(const MountPlace& place, const MountIdentity& ours, const std::string& socket_path,
            const Fd& bind) {
  // The socket first: once the mount is gone a new daemon may start and bind the same path.
  if (!socket_path.empty()) ::unlink(socket_path.c_str());
  std::optional<MountRecord> record;
  if (::geteuid() == 0) record = recorded_mount(place.canonical());
  auto ok = unmount_if(place, ours);
  // The record of this very mount: its bind of BACKING goes too (unless another daemon serves
  // BACKING), then the record.
  if (ok && record && record->mount == ours) {
    (void)release_bind(*record, bind);
    forget_mount(place.canonical());
  }
  return ok || ok.code() == ENOENT ? 0 : ok.code();
}

// Moves the pipe ends and the place's parent to fixed numbers and closes every other fd above
// stderr, /dev/fuse first of all: a helper holding it would keep a dead daemon's connection alive.
bool keep_only(int request, int reply, MountPlace& place, int bind) {
  int r = ::fcntl(request, F_DUPFD, 10);
  int w = ::fcntl(reply, F_DUPFD, 10);
  int b = bind >= 0 ? ::fcntl(bind, F_DUPFD, 10) : -1;
  if (r < 0 || w < 0 || !place.move_parent_to(::fcntl(place.parent().get(), F_DUPFD, 10)) ||
      ::dup2(r, kRequestFd) < 0 || ::dup2(w, kReplyFd) < 0 || !place.move_parent_to(kPlaceFd)) {
    return false;
  }
  if (b >= 0) {
    if (::dup2(b, kBindFd) < 0) return false;
  } else {
    ::close(kBindFd);
  }
  return ::close_range(kBindFd + 1, ~0U, 0) == 0;
}

[[noreturn]] void helper_main(int request, int reply, MountPlace place, const MountIdentity& ours,
                              const std::string& socket_path, int bind_fd) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);  // SIGTERM to the whole unit must not kill it first
  ::prctl(PR_SET_NAME, "confinefs-umnt", 0, 0, 0);
  if (!keep_only(request, reply, place, bind_fd)) _exit(1);
  const Fd bind(bind_fd >= 0 ? kBindFd : -1);
  static constexpr cap_value_t kSysAdmin[] = {CAP_SYS_ADMIN};
  if (::geteuid() == 0) (void)limit_capabilities(kSysAdmin);
  (void)set_no_new_privs();
  bool done = false;
  for (;;) {
    char byte = 0;
    ssize_t n = ::read(kRequestFd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the daemon exited or died
    unsigned char answer = static_cast<unsigned char>(cleanup(place, ours, socket_path, bind));
    done = true;
    while (::write(kReplyFd, &answer, 1) < 0 && errno == EINTR) {
    }
  }
  if (!done) cleanup(place, ours, socket_path, bind);
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<UnmountHelper>> UnmountHelper::start(const MountPlace& place,
                                                            const MountIdentity& ours,
                                                            const std::string& socket_path,
                                                            const Fd& bind) {
  auto copy = place.dup();
  if (!copy) return copy.error();
  auto req = sys::pipe(O_CLOEXEC);
  if (!req) return req.error();
  auto rep = sys::pipe(O_CLOEXEC);
  if (!rep) return rep.error();
  Fd req_read = std::move(req->read), req_write = std::move(req->write);
  Fd rep_read = std::move(rep->read), rep_write = std::move(rep->write);
  pid_t pid = ::fork();
  if (pid < 0) return last_error();
  if (pid == 0) {
    helper_main(req_read.get(), rep_write.get(), std::move(copy.value()), ours, socket_path,
                bind.valid() ? bind.get() : -1);
  }
  return std::unique_ptr<UnmountHelper>(
      new UnmountHelper(pid, std::move(req_write), std::move(rep_read)));
}

Result<void> UnmountHelper::unmount(int timeout_ms) {
  char byte = 'U';
  if (::write(request_.get(), &byte, 1) != 1) return last_error();
  pollfd p{reply_.get(), POLLIN, 0};
  int ready = ::poll(&p, 1, timeout_ms);
  if (ready < 0) return last_error();
  if (ready == 0) return Error{ETIMEDOUT};
  unsigned char answer = 0;
  if (::read(reply_.get(), &answer, 1) != 1) return Error{EPIPE};
  if (answer != 0) return Error{answer};
  return {};
}

UnmountHelper::~UnmountHelper() {
  request_.reset();
  reply_.reset();
  // Reap it when it is quick (it is our child); otherwise init does.
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) != 0) return;
    ::usleep(10000);
  }
}

}  // namespace confinefs::cmd
