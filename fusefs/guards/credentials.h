// CallerCredentials: while it lives, this thread creates files as the calling process.
// Files and directories made through the mount then belong to the caller's uid/gid, and the host
// applies its own rules (a setgid parent directory's group, quotas) exactly as for a native call.
// fsuid/fsgid are per-thread, so other requests on other worker threads are unaffected.
#pragma once

#include <sys/types.h>

#include "fusefs/mount/filesystem.h"

namespace confinefs::guards {

class CallerCredentials {
 public:
  CallerCredentials(const Filesystem& fs, const Caller& caller);
  ~CallerCredentials();
  CallerCredentials(const CallerCredentials&) = delete;
  CallerCredentials& operator=(const CallerCredentials&) = delete;

 private:
  bool switched_ = false;
  uid_t saved_uid_ = 0;
  gid_t saved_gid_ = 0;
};

}  // namespace confinefs::guards
