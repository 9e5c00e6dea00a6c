// Landlock self-restriction, applied once the filesystem is mounted.
//
// Threat (threats 7, 20): a directory moved out of BACKING after the daemon took its fd. The
// fd stays valid, so every later *at() call through it would land outside. Landlock checks the
// *current* location of the target at each open, create, remove, rename and truncate, so a daemon
// restricted to BACKING gets EACCES once the directory has left it, and a bug in the daemon cannot
// reach the rest of the host either.
// Invariant: after restrict_to(), filesystem access is allowed beneath BACKING (no execute, no
// special files, no symlinks), read/write/ioctl on /dev/fuse (clone_fd workers), write on the
// audit file, read of the policy file's directory (SIGHUP reload) and of
// /proc/sys/fs/pipe-max-size (libfuse's splice pipes); nothing else. TCP bind and
// connect are refused, and so are signals and abstract sockets outside the daemon's domain.
// Landlock binds the calling thread and the threads it creates afterwards: call it while the
// daemon has a single thread.
#pragma once

#include <optional>
#include <string>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

struct LandlockRules {
  FdRef backing;                           // the resolver's root fd: no path, no race
  std::optional<std::string> audit_file;   // the policy's audit file, when its sink is a file
  std::optional<std::string> policy_file;  // re-read on SIGHUP
  bool allow_abstract_unix = false;        // NOTIFY_SOCKET in the abstract namespace ("@...")
};

// The Landlock ABI version of the running kernel; 0 when Landlock is absent or disabled.
int landlock_abi() noexcept;

// Restricts this thread (and the threads it creates later) to the rules; returns the ABI used.
// ENOSYS/EOPNOTSUPP when the kernel has no Landlock. Requires no_new_privs or CAP_SYS_ADMIN.
Result<int> restrict_to(const LandlockRules& rules);

// The passthrough registrar's domain (cmd/backing_registrar.h): beneath BACKING only, executing
// included, nothing else, no path opened to build it. The kernel reopens each backing file with
// the registrar's credentials when an open passes through, so this domain checks that reopen:
// a file moved out of BACKING since the daemon verified it is refused there too. Executing is
// allowed because running a program from the mount opens its backing file for execution.
Result<int> restrict_to_backing_files(FdRef backing);

}  // namespace confinefs::cmd
