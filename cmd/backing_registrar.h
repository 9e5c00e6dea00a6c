// The backing-file registrar: the one process that may register files with the kernel for FUSE
// passthrough (FUSE_DEV_IOC_BACKING_OPEN needs CAP_SYS_ADMIN in the initial user namespace, which
// the serving process gives up after mounting).
//
// It is forked while start-up confines the daemon: after no_new_privs, before the daemon's
// Landlock and privilege drop. It confines itself beneath BACKING with Landlock (executing
// allowed: the kernel's reopen of each backing file is made with the registrar's credentials, so
// Landlock checks that reopen against BACKING once more, and running a program from the mount is
// such a reopen), then keeps CAP_SYS_ADMIN alone, a copy of the session's /dev/fuse fd and
// one end of a socket pair, and installs a seccomp filter that allows receiving and sending on
// that socket, the two ioctls on that fd, fstat, memfd_create (its probe), close and exit.
// It never opens, resolves or receives a path: it receives fds the daemon already verified
// (guards/verify.cpp), checks each is a regular file, registers it and answers the id. It dies
// with the daemon (PR_SET_PDEATHSIG, and end of file on the socket): a registrar left holding
// /dev/fuse would keep a dead daemon's connection alive.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>

#include "fusefs/fd.h"
#include "fusefs/fuse/passthrough.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

class BackingRegistrarProcess : public fuse::BackingRegistrar {
 public:
  // Forks the registrar with a copy of channel (the session's /dev/fuse fd). With landlock, it
  // confines itself beneath backing (cmd/landlock.h, restrict_to_backing_files) before anything
  // else; call it before the daemon's own Landlock, which does not allow executing.
  static Result<std::unique_ptr<BackingRegistrarProcess>> start(FdRef channel, FdRef backing,
                                                                bool landlock);
  ~BackingRegistrarProcess() override;

  Result<int32_t> add(FdRef file) override;
  Result<void> remove(int32_t backing_id) override;
  Result<void> probe() override;

 private:
  BackingRegistrarProcess(pid_t pid, Fd socket) : pid_(pid), socket_(std::move(socket)) {}
  Result<int32_t> ask(uint32_t op, int32_t value, const FdRef* file);

  pid_t pid_;
  Fd socket_;
  std::mutex mutex_;  // one request at a time on the socket
};

}  // namespace confinefs::cmd
