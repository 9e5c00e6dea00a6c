// lookup, forget, getattr, statfs: resolving names into nodes and reporting attributes.
#include <algorithm>

#include "fusefs/guards/gate.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

uint64_t left(uint64_t limit, uint64_t used) { return used < limit ? limit - used : 0; }

// statfs through the mount shows the quota as the filesystem's size: the client's df and free
// space checks then see what it may still write, never more than the host has free.
struct statvfs with_quota(struct statvfs st, const policy::Limits& limits, UsageTotals used) {
  if (limits.quota_bytes && st.f_frsize > 0) {
    fsblkcnt_t free_blocks = left(*limits.quota_bytes, used.bytes) / st.f_frsize;
    st.f_blocks = *limits.quota_bytes / st.f_frsize;
    st.f_bfree = std::min(st.f_bfree, free_blocks);
    st.f_bavail = std::min(st.f_bavail, free_blocks);
  }
  if (limits.quota_inodes) {
    fsfilcnt_t free_files = left(*limits.quota_inodes, used.inodes);
    st.f_files = *limits.quota_inodes;
    st.f_ffree = std::min(st.f_ffree, free_files);
    st.f_favail = std::min(st.f_favail, free_files);
  }
  return st;
}

Result<Entry> lookup_in(const Request& r, uint64_t parent, const char* name, bool parent_inside) {
  Filesystem& fs = r.fs;
  auto dir = dir_of(r, parent);
  if (!dir) return dir.error();
  auto n = client_name(r, parent, name);
  if (!n) return n.error();
  if (auto ok = guards::gate(r, parent, &n.value(), guards::Intent::kSee); !ok) return ok.error();
  auto found = fs.resolver().lookup(dir.value()->handle(), n.value());
  if (!found) return fs.refuse(r, parent, n->view(), found.error());
  InodeKey key{found->attr.st_dev, found->attr.st_ino};
  if (auto ok = guards::confirm_lookup(r, parent, n.value(), key, parent_inside); !ok)
    return ok.error();
  auto kind = kind_of(fs, *dir.value(), n.value(), found.value());
  if (!kind) return fs.refuse(r, parent, n->view(), kind.error());
  auto entry = remember(r, parent, n.value(), std::move(found.value()), kind.value());
  if (!entry) return fs.refuse(r, parent, n->view(), entry.error());
  return entry;
}

}  // namespace

Result<Entry> lookup(const Request& r, uint64_t parent, const char* name) {
  return lookup_in(r, parent, name, false);
}

Result<Entry> lookup_listed(const Request& r, uint64_t parent, const char* name) {
  return lookup_in(r, parent, name, true);
}

void forget(const Request& r, uint64_t node, uint64_t count) { r.fs.nodes().forget(node, count); }

Result<struct stat> getattr(const Request& r, uint64_t id) {
  Filesystem& fs = r.fs;
  auto node = node_of(r, id);
  if (!node) return node.error();
  if (auto ok = guards::gate(r, id, nullptr, guards::Intent::kSee); !ok) return ok.error();
  if (auto ok = guards::inside(r, id); !ok) return ok.error();
  // The O_PATH handle pins the inode, so this reports the node's own attributes even when an
  // outside process renamed or replaced its name.
  auto attr = fs.resolver().stat_handle(node.value()->handle());
  if (!attr) return fs.refuse(r, id, "", attr.error());
  node.value()->saw_link_count(attr->st_nlink);
  return shown(fs, node.value()->type(), attr.value());
}

Result<struct statvfs> statfs(const Request& r, uint64_t id) {
  Filesystem& fs = r.fs;
  auto node = node_of(r, id);
  if (!node) return node.error();
  auto host = sys::fstatvfs(node.value()->handle());
  if (!host) return host;
  return with_quota(host.value(), fs.policy()->limits(), fs.usage().totals());
}

}  // namespace confinefs::ops
