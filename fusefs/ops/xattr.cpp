// Extended attributes, through verified fds only (threats 12, 14, 32): only the namespaces the
// policy allows (xattrs.namespaces: user by default, system for ACLs on request) are reachable;
// security.* and trusted.* never are: not set (EOPNOTSUPP, as a filesystem without those
// namespaces answers, so overlayfs and test suites on top skip instead of failing) nor shown
// (ENODATA), so file capabilities cannot be planted or read through the mount.
#include <fcntl.h>
#include <sys/xattr.h>

#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/gate.h"
#include "fusefs/guards/verify.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

// The policy's xattrs.namespaces (user by default; security.* and trusted.* never), less the
// attributes that mark stored links, FIFOs and sockets (objects/marker.h): a tenant that could
// set them would turn any file into one.
bool allowed(const policy::Policy& pol, std::string_view name) {
  return !objects::is_hidden_attr(name) && pol.xattr_allowed(name);
}

bool is_acl(std::string_view name) {
  return name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

// A namespace the mount does not serve gets the answer of a filesystem without it (EOPNOTSUPP),
// which tools such as cp -a and rsync -A treat as "nothing to preserve" and overlayfs as "no
// trusted.* here"; a name the daemon keeps for itself in a served namespace (objects/marker.h)
// is EPERM.
Error refuse_namespace(const Request& r, std::string_view name) {
  bool reserved = objects::is_hidden_attr(name);
  return guards::over_limit(r, reserved ? EPERM : EOPNOTSUPP, "xattrs.namespaces");
}

// What the attribute name costs now on fd (0 when absent).
int64_t stored_cost(FdRef fd, const char* name) {
  auto size = sys::fgetxattr(fd, name, nullptr, 0);
  return size ? static_cast<int64_t>(xattr_cost(name, size.value())) : 0;
}

// Makes a change that leaves the attribute `name` costing after_cost bytes (0: removed).
// Attribute values are stored bytes like file content (quota_bytes, threat 32): the growth is
// taken before the host call and settled after it, under the inode's accounting lock.
Result<void> counted_change(const Request& r, const Node& node, FdRef fd, const char* name,
                            int64_t after_cost, const std::function<Result<void>()>& change) {
  Usage& usage = r.fs.usage();
  if (!usage.tracking()) return change();
  std::lock_guard lock(usage.file_lock(node.key()));
  int64_t delta = after_cost - stored_cost(fd, name);
  if (delta > 0 &&
      !usage.take_bytes(static_cast<uint64_t>(delta), r.policy->limits().quota_bytes)) {
    return guards::over_limit(r, EDQUOT, "quota_bytes");
  }
  auto changed = change();
  if (!changed && delta > 0) usage.adjust_bytes(-delta);  // nothing was stored
  if (changed && delta < 0) usage.adjust_bytes(delta);    // smaller, or gone
  return changed;
}

Result<size_t> read_attribute(const Request& r, const Node& node, const char* name, void* value,
                              size_t size) {
  if (auto ok = guards::inside(r, node); !ok) return ok.error();
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kRead);
  if (!fd) return fd.error();
  return sys::fgetxattr(fd->ref(), name, value, size);
}

Result<void> write_attribute(const Request& r, const Node& node, const char* name,
                             const void* value, size_t size, int flags) {
  if (!allowed(*r.policy, name)) return refuse_namespace(r, name);
  // As on the host: user attributes live on regular files and directories only.
  if (node.type() != NodeType::kRegular && !node.is_dir()) return Error{EPERM};
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kMetadata);
  if (!fd) return fd.error();
  // Only a create cannot be made twice (a plain set or a replace sets the same value again).
  if (flags & XATTR_CREATE) {
    auto fate = attribute_fate(r, fd->ref(), name, value, size);
    if (!fate || fate.value() == Fate::kHappened) return fate ? Result<void>{} : fate.error();
    begin_attribute_change(r, fd->ref(), name);
  }
  return counted_change(r, node, fd->ref(), name, static_cast<int64_t>(xattr_cost(name, size)),
                        [&] { return sys::fsetxattr(fd->ref(), name, value, size, flags); });
}

Result<size_t> list_attributes(const Request& r, const Node& node, char* list, size_t size) {
  if (auto ok = guards::inside(r, node); !ok) return ok.error();
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kRead);
  if (!fd) return fd.error();
  // The whole host list is read so the filtered size is exact, whatever the client asked for.
  auto all = sys::flistxattr_all(fd->ref());
  if (!all) return all.error();
  size_t total = 0;
  for (size_t i = 0; i < all->size();) {
    std::string_view entry(all->data() + i);
    if (allowed(*r.policy, entry)) {
      if (size != 0) {
        if (total + entry.size() + 1 > size) return Error{ERANGE};
        std::memcpy(list + total, entry.data(), entry.size() + 1);
      }
      total += entry.size() + 1;
    }
    i += entry.size() + 1;
  }
  return total;
}

Result<void> remove_attribute(const Request& r, const Node& node, const char* name) {
  if (!allowed(*r.policy, name)) return refuse_namespace(r, name);
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kMetadata);
  if (!fd) return fd.error();
  auto fate = attribute_fate(r, fd->ref(), name, nullptr, 0);
  if (!fate || fate.value() == Fate::kHappened) return fate ? Result<void>{} : fate.error();
  begin_attribute_change(r, fd->ref(), name);
  return counted_change(r, node, fd->ref(), name, 0,
                        [&] { return sys::fremovexattr(fd->ref(), name); });
}

}  // namespace

Outcome<size_t> getxattr(const Request& r, uint64_t id, const char* name, void* value,
                         size_t size) {
  // The kernel reads ACLs to check every caller's access (FUSE_CAP_POSIX_ACL): they are always
  // readable, whatever namespaces the policy lets the tenant change. Other names outside the
  // namespaces served are answered at once (the kernel asks security.capability before writes).
  if (!allowed(*r.policy, name) && !is_acl(name)) return refused<size_t>(r, Error{ENODATA});
  auto node = enter(r, id, guards::Intent::kRead);
  if (!node) return refused<size_t>(r, node.error());
  return answer(r, read_attribute(r, *node.value(), name, value, size));
}

Outcome<void> setxattr(const Request& r, uint64_t id, const char* name, const void* value,
                       size_t size, int flags) {
  auto node = enter(r, id, guards::Intent::kModify);
  if (!node) return refused<void>(r, node.error());
  return answer(r, write_attribute(r, *node.value(), name, value, size, flags));
}

Outcome<size_t> listxattr(const Request& r, uint64_t id, char* list, size_t size) {
  auto node = enter(r, id, guards::Intent::kRead);
  if (!node) return refused<size_t>(r, node.error());
  return answer(r, list_attributes(r, *node.value(), list, size));
}

Outcome<void> removexattr(const Request& r, uint64_t id, const char* name) {
  auto node = enter(r, id, guards::Intent::kModify);
  if (!node) return refused<void>(r, node.error());
  return answer(r, remove_attribute(r, *node.value(), name));
}

}  // namespace confinefs::ops
