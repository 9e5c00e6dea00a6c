#include "fusefs/guards/credentials.h"

#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace confinefs::guards {
namespace {

// Raises into this thread's effective set those of `wanted` that are in its permitted set
// (capabilities are per thread); one the daemon no longer holds stays off.
void raise_effective(uint64_t wanted) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return;
  bool changed = false;
  for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    uint32_t add =
        data[i].permitted & static_cast<uint32_t>(wanted >> (32 * i)) & ~data[i].effective;
    changed |= add != 0;
    data[i].effective |= add;
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
  // setfsuid to a non-root id clears this thread's filesystem capabilities, so the host would
  // check permissions with the caller's uid and primary gid only: FUSE does not pass
  // supplementary groups. The kernel has already checked the caller's full credentials against
  // the mount (default_permissions), so CAP_DAC_OVERRIDE is raised again, while ownership of what
  // is created still comes from fsuid/fsgid.
  raise_effective(uint64_t{1} << CAP_DAC_OVERRIDE);
}

CallerCredentials::~CallerCredentials() {
  if (!switched_) return;
  ::setfsuid(saved_uid_);
  ::setfsgid(saved_gid_);
  // Back to the daemon's own fsuid: from 0 to a non-zero one (a service identity, after serving a
  // root caller) the kernel clears the filesystem capabilities from the effective set; the
  // serving capabilities come back from the permitted set.
  raise_effective(~uint64_t{0});
}

}  // namespace confinefs::guards
