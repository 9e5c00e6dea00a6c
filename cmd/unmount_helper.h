// The unmount helper: a tiny process forked before the daemon confines itself, which unmounts the
// filesystem and removes the control socket when the daemon asks or when the daemon dies.
//
// Threat (threat 20): a confined daemon cannot unmount (Landlock forbids umount, and
// CAP_SYS_ADMIN is dropped after mount), yet SIGTERM must leave no mount behind and a crash should
// leave no stale "Transport endpoint is not connected" mount either.
// Invariants: the helper holds no fd but its two pipes, the mountpoint's parent directory
// (O_PATH, on the host's filesystem: never /dev/fuse, the FUSE mount or the control socket) and
// the root of the bind of BACKING the daemon made (an O_PATH handle: unmounted through it, never
// read); it keeps CAP_SYS_ADMIN only, with no_new_privs; it acts on the directory start-up
// checked, found from that parent (cmd/mount_place.h), and only on the very mount the daemon made
// (mountinfo's id and the never-reused unique mount id where the kernel has one: mountinfo ids
// are reused at once), unmounted through the fd whose ids it checked; it ignores the stop
// signals, so it outlives the daemon long enough to clean up, then exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cmd/mount_place.h"
#include "cmd/stale_mount.h"
#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

class UnmountHelper {
 public:
  // Forks the helper for the mount `ours` at place. socket_path ("" for none) is removed with
  // the mount; bind, the root of the bind of BACKING the daemon made (or none), goes with it
  // unless another daemon still holds BACKING (cmd/backing_mount.h). Call while the daemon has a
  // single thread.
  static Result<std::unique_ptr<UnmountHelper>> start(const MountPlace& place,
                                                      const MountIdentity& ours,
                                                      const std::string& socket_path,
                                                      const Fd& bind);
  // Closing the request pipe tells the helper to clean up (if not done yet) and exit.
  ~UnmountHelper();
  UnmountHelper(const UnmountHelper&) = delete;
  UnmountHelper& operator=(const UnmountHelper&) = delete;

  // Asks the helper to unmount now; waits up to timeout_ms for its answer (0 or an errno).
  Result<void> unmount(int timeout_ms = 10000);
  pid_t pid() const noexcept { return pid_; }

 private:
  UnmountHelper(pid_t pid, Fd request, Fd reply)
      : pid_(pid), request_(std::move(request)), reply_(std::move(reply)) {}
  pid_t pid_;
  Fd request_;  // write end: one byte asks for the unmount; EOF means the daemon is gone
  Fd reply_;    // read end: one byte, the errno of the unmount (0 on success)
};

}  // namespace confinefs::cmd
