#include "cmd/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace confinefs::cmd {
namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

bool kept(std::span<const cap_value_t> keep, cap_value_t c) {
  return std::find(keep.begin(), keep.end(), c) != keep.end();
}

// The bounding set limits what any later exec could ever hold; empty it of everything not kept.
Result<void> drop_bounding(std::span<const cap_value_t> keep) {
  for (cap_value_t c = 0; CAP_IS_SUPPORTED(c); ++c) {
    if (kept(keep, c)) continue;
    if (cap_drop_bound(c) != 0) {
      if (errno == EPERM) return {};  // no CAP_SETPCAP: an unprivileged daemon has nothing there
      return last_error();
    }
  }
  return {};
}

Phase<gid_t> lookup_group(const std::string& name) {
  errno = 0;
  if (const group* g = ::getgrnam(name.c_str())) return g->gr_gid;
  return Failure::usage("unknown group '" + name + "'");
}

}  // namespace

Phase<std::optional<Tenant>> lookup_tenant(const std::optional<std::string>& user,
                                           const std::optional<std::string>& group) {
  if (!user) {
    if (group) return Failure::usage("group= needs user=");
    return std::optional<Tenant>();
  }
  errno = 0;
  const passwd* pw = ::getpwnam(user->c_str());
  if (pw == nullptr) return Failure::usage("unknown user '" + *user + "'");
  Tenant t{*user, pw->pw_uid, pw->pw_gid, {}};
  if (t.uid == 0) return Failure::usage("user= names root; leave it out to run as root");
  if (group) {
    auto gid = lookup_group(*group);
    if (!gid) return gid.error();
    t.gid = gid.value();
  }
  int n = 64;
  for (;;) {
    t.groups.resize(static_cast<size_t>(n));
    int got = n;
    if (::getgrouplist(t.name.c_str(), t.gid, t.groups.data(), &got) >= 0) {
      t.groups.resize(static_cast<size_t>(got));
      break;
    }
    if (got <= n) return Failure::usage("cannot read the groups of '" + *user + "'");
    n = got;
  }
  if (::geteuid() != 0) return Failure::usage("user= needs confinefs started as root");
  return std::optional<Tenant>(std::move(t));
}

Result<void> set_no_new_privs() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return last_error();
  return {};
}

Result<void> limit_capabilities(std::span<const cap_value_t> keep) {
  if (auto ok = drop_bounding(keep); !ok) return ok;
  CapPtr current(cap_get_proc());
  CapPtr caps(cap_init());
  if (!current || !caps) return last_error();
  // Keep only what is both wanted and still permitted: mount.fuse3's drop_privileges starts the
  // daemon with fewer capabilities, and asking for more than the permitted set is EPERM.
  std::vector<cap_value_t> held;
  for (cap_value_t c : keep) {
    cap_flag_value_t v = CAP_CLEAR;
    if (cap_get_flag(current.get(), c, CAP_PERMITTED, &v) == 0 && v == CAP_SET) held.push_back(c);
  }
  if (!held.empty()) {
    int n = static_cast<int>(held.size());
    if (cap_set_flag(caps.get(), CAP_EFFECTIVE, n, held.data(), CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_PERMITTED, n, held.data(), CAP_SET) != 0) {
      return last_error();
    }
  }
  if (cap_set_proc(caps.get()) != 0) return last_error();
  if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0) return last_error();
  return {};
}

namespace {

// The service identity: every id switched, the permitted serving capabilities carried across the
// switch (PR_SET_KEEPCAPS) and raised again, nothing else.
Result<void> drop_to_service(const Tenant& service) {
  if (auto ok = drop_bounding(kRootServingCaps); !ok) return ok;
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return last_error();
  if (::setgroups(service.groups.size(), service.groups.data()) != 0) return last_error();
  if (::setresgid(service.gid, service.gid, service.gid) != 0) return last_error();
  if (::setresuid(service.uid, service.uid, service.uid) != 0) return last_error();
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return last_error();
  return limit_capabilities(kRootServingCaps);
}

}  // namespace

Result<void> drop_privileges(const std::optional<Tenant>& tenant) {
  if (!tenant) {
    if (::geteuid() != 0) return limit_capabilities({});
    return limit_capabilities(kRootServingCaps);
  }
  if (tenant->service) return drop_to_service(*tenant);
  // Bounding set first, while CAP_SETPCAP is still there; the id switch then clears the rest.
  if (auto ok = drop_bounding({}); !ok) return ok;
  // glibc applies these to every thread of the process.
  if (::setgroups(tenant->groups.size(), tenant->groups.data()) != 0) return last_error();
  if (::setresgid(tenant->gid, tenant->gid, tenant->gid) != 0) return last_error();
  if (::setresuid(tenant->uid, tenant->uid, tenant->uid) != 0) return last_error();
  // Prove it cannot come back: with every uid the tenant's and no capability, setuid(0) fails.
  if (::setuid(0) == 0) return Error{EPERM};
  return limit_capabilities({});
}

}  // namespace confinefs::cmd
