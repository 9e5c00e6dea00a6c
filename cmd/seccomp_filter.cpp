#include "cmd/seccomp_filter.h"

#include <seccomp.h>

#include <memory>

namespace confinefs::cmd {
namespace {

// What the serving daemon calls: FUSE I/O on /dev/fuse, *at() file operations beneath BACKING,
// fsuid switching, threads and memory, signals, the control socket and sd_notify, the journal.
// Names unknown on this architecture are skipped.
constexpr const char* kAllowed[] = {
    // FUSE channel and plain I/O
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "splice",
    "vmsplice",
    "tee",
    "ioctl",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "pipe2",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "lseek",
    "copy_file_range",
    "sendfile",
    // files beneath BACKING (through held directory fds)
    // (no link, symlink, mknod, open_by_handle_at, path-based xattr calls: confinefs never uses
    // them, so a bug cannot either; linkat names only the daemon's own O_TMPFILE files, how stored
    // links, FIFOs and sockets appear whole: fusefs/resolve/resolver.h link_unnamed;
    // name_to_handle_at only reads an inode's identity: Resolver::file_handle)
    "linkat",
    "name_to_handle_at",
    "openat",
    "openat2",
    "newfstatat",
    "fstat",
    "statx",
    "fstatfs",
    "statfs",
    "getdents64",
    "mkdirat",
    "unlinkat",
    "renameat",
    "renameat2",
    "readlinkat",
    "faccessat",
    "faccessat2",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "utimensat",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fadvise64",
    "flock",
    "fgetxattr",
    "fsetxattr",
    "flistxattr",
    "fremovexattr",
    "umask",
    "getcwd",
    // identity: per-request fsuid/fsgid, reads of the own ids
    "setfsuid",
    "setfsgid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpid",
    "gettid",
    "getppid",
    "capget",
    // threads, memory, time
    "clone",
    "clone3",
    "exit",
    "exit_group",
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "sched_yield",
    "sched_getaffinity",
    "getrandom",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "nanosleep",
    "clock_nanosleep",
    "prlimit64",
    "getrlimit",
    "uname",
    "restart_syscall",
    "membarrier",
    // signals (libfuse's exit handlers, the SIGHUP pipe, thread cancellation at exit)
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "tgkill",
    // control socket, sd_notify, journald
    "socket",
    "connect",
    "accept4",
    "accept",
    "sendto",
    "sendmsg",
    "recvfrom",
    "recvmsg",
    "getsockopt",
    "setsockopt",
    "shutdown",
    "getsockname",
    // waiting for the unmount helper at exit
    "wait4",
    "waitid",
    "prctl",
};

struct CtxFree {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};

}  // namespace

Result<void> install_seccomp_allow_list() {
  std::unique_ptr<void, CtxFree> ctx(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
  if (!ctx) return Error{ENOMEM};
  // One filter for every thread, present and future: the reload thread exists already.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) return Error{-rc};
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0) return Error{-rc};
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) return Error{-rc};
  return {};
}

}  // namespace confinefs::cmd
