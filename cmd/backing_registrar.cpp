#include "cmd/backing_registrar.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cmd/landlock.h"
#include "cmd/privileges.h"
#include "fusefs/fuse/libfuse314/wire.h"

namespace confinefs::cmd {
namespace {

constexpr int kSocketFd = 3;
constexpr int kChannelFd = 4;

enum : uint32_t { kOpAdd = 1, kOpRemove = 2, kOpProbe = 3 };

struct Message {
  uint32_t op;
  int32_t value;  // the id to remove; in a reply, the id added (or 0) or -errno
};

// Sends msg, with file's fd attached when there is one.
bool send_message(int socket, const Message& msg, int file) {
  iovec iov{const_cast<Message*>(&msg), sizeof msg};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (file >= 0) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &file, sizeof file);
  }
  for (;;) {
    ssize_t n = ::sendmsg(socket, &mh, MSG_NOSIGNAL);
    if (n == sizeof msg) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// Receives one message and the fd attached to it (-1 without one); false at end of file.
bool receive_message(int socket, Message& msg, int& file) {
  iovec iov{&msg, sizeof msg};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  file = -1;
  for (;;) {
    ssize_t n = ::recvmsg(socket, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n != sizeof msg) return false;
    break;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&file, CMSG_DATA(c), sizeof file);
    }
  }
  return true;
}

// Registers file as a backing file: its id, or -errno. Only a regular file: a directory, a
// device or a socket is never handed to the kernel as one, whatever the daemon sent.
int32_t register_file(int file) {
  struct stat st {};
  if (::fstat(file, &st) != 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EINVAL;
  fuse::wire::BackingMap map{file, 0, 0};
  int id = ::ioctl(kChannelFd, fuse::wire::kBackingOpen, &map);
  return id < 0 ? -errno : id;
}

int32_t unregister(int32_t id) {
  auto backing = static_cast<uint32_t>(id);
  return ::ioctl(kChannelFd, fuse::wire::kBackingClose, &backing) < 0 ? -errno : 0;
}

// A file of the registrar's own, registered and released at once: does the kernel take them?
int32_t probe_kernel() {
  int file = ::memfd_create("confinefs-probe", MFD_CLOEXEC);
  if (file < 0) return -errno;
  int32_t id = register_file(file);
  ::close(file);
  return id < 0 ? id : unregister(id);
}

// The registrar's whole syscall surface; anything else kills it.
bool confine_registrar() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return false;
  bool ok = true;
  for (const char* name : {"recvmsg", "sendmsg", "fstat", "newfstatat", "statx", "memfd_create",
                           "close", "exit", "exit_group", "rt_sigreturn", "restart_syscall"}) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR) ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0;
  }
  for (unsigned long request : {fuse::wire::kBackingOpen, fuse::wire::kBackingClose}) {
    ok = ok &&
         seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2, SCMP_A0(SCMP_CMP_EQ, kChannelFd),
                          SCMP_A1(SCMP_CMP_EQ, request)) == 0;
  }
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

[[noreturn]] void registrar_main(int socket, int channel, FdRef backing, bool landlock) {
  ::prctl(PR_SET_NAME, "confinefs-pt", 0, 0, 0);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() == 1) _exit(1);
  if (landlock && !restrict_to_backing_files(backing)) _exit(1);
  // Only the socket and the channel, at fixed numbers: every other fd of the daemon goes.
  int s = ::fcntl(socket, F_DUPFD, 10), c = ::fcntl(channel, F_DUPFD, 10);
  if (s < 0 || c < 0 || ::dup2(s, kSocketFd) < 0 || ::dup2(c, kChannelFd) < 0 ||
      ::close_range(kChannelFd + 1, ~0U, 0) != 0) {
    _exit(1);
  }
  static constexpr cap_value_t kSysAdmin[] = {CAP_SYS_ADMIN};
  if (!limit_capabilities(kSysAdmin) || !confine_registrar()) _exit(1);
  Message msg{};
  int file = -1;
  while (receive_message(kSocketFd, msg, file)) {
    int32_t answer = -EINVAL;
    if (msg.op == kOpAdd && file >= 0) answer = register_file(file);
    if (msg.op == kOpRemove) {  // unanswered: a release waits for nothing
      (void)unregister(msg.value);
      if (file >= 0) ::close(file);
      continue;
    }
    if (msg.op == kOpProbe) answer = probe_kernel();
    if (file >= 0) ::close(file);
    if (!send_message(kSocketFd, Message{msg.op, answer}, -1)) break;
  }
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<BackingRegistrarProcess>> BackingRegistrarProcess::start(FdRef channel,
                                                                                FdRef backing,
                                                                                bool landlock) {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) return last_error();
  Fd ours(ends[0]), theirs(ends[1]);
  pid_t pid = ::fork();
  if (pid < 0) return last_error();
  if (pid == 0) registrar_main(theirs.get(), channel.get(), backing, landlock);
  return std::unique_ptr<BackingRegistrarProcess>(
      new BackingRegistrarProcess(pid, std::move(ours)));
}

BackingRegistrarProcess::~BackingRegistrarProcess() {
  socket_.reset();  // end of file: it exits
  ::waitpid(pid_, nullptr, 0);
}

Result<int32_t> BackingRegistrarProcess::ask(uint32_t op, int32_t value, const FdRef* file) {
  std::lock_guard lock(mutex_);
  if (!send_message(socket_.get(), Message{op, value}, file ? file->get() : -1)) {
    return last_error();
  }
  Message reply{};
  int unexpected = -1;
  if (!receive_message(socket_.get(), reply, unexpected)) return Error{EPIPE};
  Fd dropped(unexpected);  // the registrar sends none; one that came is closed
  if (reply.op != op) return Error{EPROTO};
  if (reply.value < 0) return Error{-reply.value};
  return reply.value;
}

Result<int32_t> BackingRegistrarProcess::add(FdRef file) { return ask(kOpAdd, 0, &file); }

Result<void> BackingRegistrarProcess::remove(int32_t backing_id) {
  // The kernel dropped its own reference before it sent the RELEASE that got here: nothing
  // waits on the id going away, so the registrar does not answer.
  std::lock_guard lock(mutex_);
  if (!send_message(socket_.get(), Message{kOpRemove, backing_id}, -1)) return last_error();
  return {};
}

Result<void> BackingRegistrarProcess::probe() {
  auto done = ask(kOpProbe, 0, nullptr);
  if (!done) return done.error();
  return {};
}

}  // namespace confinefs::cmd
