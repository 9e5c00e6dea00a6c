#include "fusefs/ops/credentials.h"

#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace confinefs {
namespace {

// setfsuid to a non-root id clears this thread's filesystem capabilities, so the host would check
// permissions with the caller's uid and primary gid only: FUSE does not pass supplementary groups.
// The kernel has already checked the caller's full credentials against the mount
// (default_permissions), so CAP_DAC_OVERRIDE is raised again on this thread (capabilities are
// per-thread) while ownership of what is created still comes from fsuid/fsgid. setfsuid(0)
// afterwards restores the filesystem capabilities from the permitted set.
void keep_dac_override() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return;
  constexpr unsigned bit = 1u << CAP_DAC_OVERRIDE;
  if (!(data[0].permitted & bit)) return;  // dropped by the operator: the plain check applies
  data[0].effective |= bit;
  ::syscall(SYS_capset, &header, data);
}

// Back to the daemon's own fsuid: from 0 to a non-zero fsuid (a service identity, after serving
// a root caller) the kernel clears the filesystem capabilities from the effective set, so the
// effective set is made the permitted one again (the serving capabilities, kept per thread).
void restore_effective() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return;
  bool changed = false;
  for (auto& d : data) {
    changed |= d.effective != d.permitted;
    d.effective = d.permitted;
  }
  if (changed) ::syscall(SYS_capset, &header, data);
}

}  // namespace

CallerCredentials::CallerCredentials(const Filesystem& fs, const Caller& caller) {
  // A daemon running as the tenant (-o user=) creates everything as the tenant already; one
  // without CAP_SETUID (started unprivileged) cannot switch, and setfsuid then changes nothing.
  if (!fs.config().caller_credentials) return;
  saved_gid_ = static_cast<gid_t>(::setfsgid(caller.gid));
  saved_uid_ = static_cast<uid_t>(::setfsuid(caller.uid));
  switched_ = true;
  keep_dac_override();
}

CallerCredentials::~CallerCredentials() {
  if (!switched_) return;
  ::setfsuid(saved_uid_);
  ::setfsgid(saved_gid_);
  restore_effective();
}

}  // namespace confinefs
