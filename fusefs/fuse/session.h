// Session: one FUSE mount's lifetime (create, mount, serve on a thread pool, unmount).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/fuse/mount_state.h"
#include "fusefs/result.h"

struct fuse_session;

namespace confinefs::fuse {

struct SessionOptions {
  std::string mountpoint;                  // a directory, or /dev/fd/N from mount.fuse3
  std::vector<std::string> mount_options;  // passed to libfuse as "-o" arguments
  bool debug = false;
  bool clone_fd = true;  // one /dev/fuse fd per worker thread: less contention on the queue
  unsigned max_threads = 16;
};

class Session {
 public:
  // Builds the session and validates the mount options; nothing is mounted yet.
  static Result<std::unique_ptr<Session>> create(MountState* state, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result<void> mount();
  // Serves a connection mounted by the caller (the /dev/fuse fd); libfuse then knows no mount
  // point, so unmounting stays the caller's.
  Result<void> adopt(Fd channel);
  // Installs libfuse's SIGINT/SIGTERM handling (after the caller installed its SIGHUP handler,
  // so libfuse's, which would end the session, is never installed for SIGHUP).
  Result<void> install_exit_signals();
  // Serves requests until the filesystem is unmounted or an exit signal arrives.
  Result<void> serve();
  // The exit signal that ended serve() (0: the filesystem was unmounted, or it still serves).
  int exit_signal() const noexcept { return exit_signal_; }
  void request_exit();
  // Someone else (confinefs's unmount helper) has unmounted it: the destructor then only closes
  // the channel. A confined daemon could not unmount itself anyway (Landlock, no CAP_SYS_ADMIN).
  void forget_mount() noexcept { mounted_ = false; }
  bool mounted() const noexcept { return mounted_; }
  // Asks the kernel to drop its entry for name in directory node parent (and, once unused, the
  // inode, which comes back as a FORGET). Never from a request handler: the kernel takes the
  // directory's lock, which the request's caller may hold.
  Result<void> invalidate_entry(uint64_t parent, std::string_view name);

 private:
  Session(fuse_session* se, SessionOptions options) : se_(se), options_(std::move(options)) {}
  fuse_session* se_;
  SessionOptions options_;
  bool mounted_ = false;
  bool signals_ = false;
  int exit_signal_ = 0;
};

}  // namespace confinefs::fuse
