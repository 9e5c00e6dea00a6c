// Privileges once mounted: no_new_privs, the tenant's identity, and the smallest capability set.
//
// Threats (threats 19, 20): `open_by_handle_at` with CAP_DAC_READ_SEARCH opens any inode of
// the filesystem ("shocker"); a bug in a root daemon reaches the whole host. Mounting needs
// CAP_SYS_ADMIN, serving does not, so everything the mount needed is dropped right after it.
// Invariants after drop_privileges():
//   - no_new_privs is set (no exec can gain privileges; Landlock may be applied without
//   CAP_SYS_ADMIN);
//   - with -o user=: real, effective, saved and filesystem ids are the tenant's, the supplementary
//     groups are the tenant's, and no capability is left in any set, bounding set included;
//   - with -o service_user=: ids as with user=, but kRootServingCaps stay (as below): the sandbox,
//     whose uid differs, can neither signal, stop, ptrace nor change the limits of the daemon;
//   - as root without user=: only kRootServingCaps (those it holds) stay (effective, permitted and
//   bounding), never
//     CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN or CAP_SETPCAP; inheritable and ambient sets are empty.
#pragma once

#include <sys/capability.h>
#include <sys/types.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cmd/failure.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

// What a root daemon keeps to serve many users (docs/deployment.md, "Capabilities"):
//   CAP_SETUID, CAP_SETGID     setfsuid/setfsgid to the caller while creating (owner = caller)
//   CAP_DAC_OVERRIDE           open the callers' files whatever their modes (the kernel already
//                              checked the caller's own permission: default_permissions)
//   CAP_FOWNER                 chmod/utimens/xattrs on files the daemon does not own
//   CAP_CHOWN                  chown when the policy allows it
// Not CAP_FSETID: confinefs strips setuid/setgid bits itself (threat 12).
inline constexpr cap_value_t kRootServingCaps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER,
                                                   CAP_SETGID, CAP_SETUID};

struct Tenant {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups from the group database
  // -o service_user=: an identity of the daemon's own that keeps kRootServingCaps (files are
  // created as the caller); with -o user= (false) the daemon becomes the tenant and keeps nothing.
  bool service = false;
};

// Looks -o user=/group= up while the group and passwd databases are still reachable (before
// Landlock); no tenant without user=.
Phase<std::optional<Tenant>> lookup_tenant(const std::optional<std::string>& user,
                                           const std::optional<std::string>& group);

Result<void> set_no_new_privs();

// Drops privileges as documented above: to the tenant when one is given (keeping
// kRootServingCaps for a service identity), else to kRootServingCaps when running as root, else
// (an unprivileged daemon) nothing to drop.
Result<void> drop_privileges(const std::optional<Tenant>& tenant);

// Keeps exactly `keep` in the effective, permitted and bounding sets (the unmount helper keeps
// CAP_SYS_ADMIN only). Needs CAP_SETPCAP for the bounding set; without it that part is skipped.
Result<void> limit_capabilities(std::span<const cap_value_t> keep);

}  // namespace confinefs::cmd
