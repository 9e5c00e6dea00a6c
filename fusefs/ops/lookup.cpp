// lookup, forget, getattr, statfs: resolving names into nodes and reporting attributes.
#include "fusefs/ops/common.h"
#include "fusefs/ops/gate.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {

Result<Entry> lookup(Filesystem& fs, const Caller& c, uint64_t parent, const char* name) {
  auto dir = dir_of(fs, parent);
  if (!dir) return dir.error();
  auto n = client_name(fs, "lookup", parent, name);
  if (!n) return n.error();
  if (auto ok = gate(fs, c, "lookup", parent, &n.value(), Intent::kSee); !ok) return ok.error();
  auto found = fs.resolver().lookup(dir.value()->handle(), n.value());
  if (!found) return fs.refuse("lookup", parent, n->view(), found.error());
  return remember(fs, parent, n.value(), std::move(found.value()));
}

void forget(Filesystem& fs, uint64_t node, uint64_t count) { fs.nodes().forget(node, count); }

Result<struct stat> getattr(Filesystem& fs, const Caller& c, uint64_t id) {
  auto node = node_of(fs, id);
  if (!node) return node.error();
  if (auto ok = gate(fs, c, "getattr", id, nullptr, Intent::kSee); !ok) return ok.error();
  // The O_PATH handle pins the inode, so this reports the node's own attributes even when an
  // outside process renamed or replaced its name.
  auto attr = fs.resolver().stat_handle(node.value()->handle());
  if (!attr) return fs.refuse("getattr", id, "", attr.error());
  return attr;
}

Result<struct statvfs> statfs(Filesystem& fs, uint64_t id) {
  auto node = node_of(fs, id);
  if (!node) return node.error();
  return sys::fstatvfs(node.value()->handle());
}

}  // namespace confinefs::ops
