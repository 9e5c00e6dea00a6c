// Extended attributes, through verified fds only (threats 12, 14, 32): only the namespaces the
// policy allows (xattrs.namespaces: user by default, system for ACLs on request) are reachable;
// security.* and trusted.* never are: not set (EPERM) nor shown (ENODATA), so file capabilities
// cannot be planted or read through the mount.
#include <fcntl.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/gate.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/verify.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

// The policy's xattrs.namespaces (user by default; security.* and trusted.* never), less the
// attributes that mark stored links, FIFOs and sockets (objects/marker.h): a tenant that could
// set them would turn any file into one.
bool allowed(Filesystem& fs, std::string_view name) {
  return !objects::is_hidden_attr(name) && fs.policy()->xattr_allowed(name);
}

bool is_acl(std::string_view name) {
  return name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

// POSIX ACLs get the answer of a filesystem without ACL support (EOPNOTSUPP), which tools such
// as cp -a and rsync -A treat as "nothing to preserve"; every other namespace is EPERM.
Error refuse_namespace(const Request& r, uint64_t id, std::string_view name) {
  bool acl = is_acl(name);
  return deny_by_limit(r, id, "", acl ? EOPNOTSUPP : EPERM, "xattrs.namespaces");
}

// What the attribute name costs now on fd (0 when absent).
int64_t stored_cost(FdRef fd, const char* name) {
  auto size = sys::fgetxattr(fd, name, nullptr, 0);
  return size ? static_cast<int64_t>(xattr_cost(name, size.value())) : 0;
}

Result<Fd> xattr_fd(const Request& r, uint64_t id, Purpose purpose) {
  Filesystem& fs = r.fs;
  auto node = node_of(fs, id);
  if (!node) return node.error();
  auto fd = open_verified(fs, *node.value(), O_RDONLY, purpose);
  if (!fd) return fs.refuse(r, id, "", fd.error());
  return fd;
}

}  // namespace

Result<size_t> getxattr(const Request& r, uint64_t id, const char* name, void* value, size_t size) {
  Filesystem& fs = r.fs;
  // The kernel reads ACLs to check every caller's access (FUSE_CAP_POSIX_ACL): they are always
  // readable, whatever namespaces the policy lets the tenant change.
  if (!allowed(fs, name) && !is_acl(name)) return Error{ENODATA};
  if (auto ok = gate(r, id, nullptr, Intent::kRead); !ok) return ok.error();
  auto fd = xattr_fd(r, id, Purpose::kRead);
  if (!fd) return fd.error();
  return sys::fgetxattr(fd->ref(), name, value, size);
}

Result<void> setxattr(const Request& r, uint64_t id, const char* name, const void* value,
                      size_t size, int flags) {
  Filesystem& fs = r.fs;
  if (!allowed(fs, name)) return refuse_namespace(r, id, name);
  if (auto ok = gate(r, id, nullptr, Intent::kModify); !ok) return ok.error();
  // As on the host: user attributes live on regular files and directories only.
  if (auto node = node_of(fs, id);
      node && node.value()->type() != NodeType::kRegular && !node.value()->is_dir()) {
    return Error{EPERM};
  }
  auto fd = xattr_fd(r, id, Purpose::kMetadata);
  if (!fd) return fd.error();
  if (!fs.usage().tracking()) return sys::fsetxattr(fd->ref(), name, value, size, flags);
  // Attribute values are stored bytes like file content (quota_bytes, threat 32): the change in
  // size is taken before the host call and settled after it, under the inode's accounting lock.
  auto node = node_of(fs, id);
  if (!node) return node.error();
  std::lock_guard lock(fs.usage().file_lock(node.value()->key()));
  int64_t before = stored_cost(fd->ref(), name);
  int64_t delta = static_cast<int64_t>(xattr_cost(name, size)) - before;
  if (delta > 0 &&
      !fs.usage().take_bytes(static_cast<uint64_t>(delta), fs.policy()->limits().quota_bytes)) {
    return deny_by_limit(r, id, "", EDQUOT, "quota_bytes");
  }
  auto set = sys::fsetxattr(fd->ref(), name, value, size, flags);
  if (!set && delta > 0) fs.usage().adjust_bytes(-delta);
  if (set && delta < 0) fs.usage().adjust_bytes(delta);
  return set;
}

Result<size_t> listxattr(const Request& r, uint64_t id, char* list, size_t size) {
  Filesystem& fs = r.fs;
  if (auto ok = gate(r, id, nullptr, Intent::kRead); !ok) return ok.error();
  auto fd = xattr_fd(r, id, Purpose::kRead);
  if (!fd) return fd.error();
  // The whole host list is read so the filtered size is exact, whatever the client asked for.
  std::vector<char> all;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto need = sys::flistxattr(fd->ref(), nullptr, 0);
    if (!need) return need.error();
    all.resize(need.value());
    auto got = sys::flistxattr(fd->ref(), all.data(), all.size());
    if (got) {
      all.resize(got.value());
      break;
    }
    if (got.code() != ERANGE) return got.error();  // grew in between: try again
    all.clear();
  }
  size_t total = 0;
  for (size_t i = 0; i < all.size();) {
    std::string_view entry(all.data() + i);
    if (allowed(fs, entry)) {
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

Result<void> removexattr(const Request& r, uint64_t id, const char* name) {
  Filesystem& fs = r.fs;
  if (!allowed(fs, name)) return refuse_namespace(r, id, name);
  if (auto ok = gate(r, id, nullptr, Intent::kModify); !ok) return ok.error();
  auto fd = xattr_fd(r, id, Purpose::kMetadata);
  if (!fd) return fd.error();
  if (!fs.usage().tracking()) return sys::fremovexattr(fd->ref(), name);
  auto node = node_of(fs, id);
  if (!node) return node.error();
  std::lock_guard lock(fs.usage().file_lock(node.value()->key()));
  int64_t before = stored_cost(fd->ref(), name);
  auto removed = sys::fremovexattr(fd->ref(), name);
  if (removed) fs.usage().adjust_bytes(-before);
  return removed;
}

}  // namespace confinefs::ops
