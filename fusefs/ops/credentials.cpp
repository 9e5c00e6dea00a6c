#include "fusefs/ops/credentials.h"

#include <sys/fsuid.h>
#include <unistd.h>

namespace confinefs {

CallerCredentials::CallerCredentials(const Filesystem& fs, const Caller& caller) {
  // Only a root daemon can take on another identity; a daemon running as the tenant (-o user=)
  // creates everything as the tenant already.
  if (!fs.config().caller_credentials || ::geteuid() != 0) return;
  if (caller.uid == 0 && caller.gid == 0) return;
  saved_gid_ = static_cast<gid_t>(::setfsgid(caller.gid));
  saved_uid_ = static_cast<uid_t>(::setfsuid(caller.uid));
  switched_ = true;
}

CallerCredentials::~CallerCredentials() {
  if (!switched_) return;
  ::setfsuid(saved_uid_);
  ::setfsgid(saved_gid_);
}

}  // namespace confinefs
