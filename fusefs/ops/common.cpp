#include "fusefs/ops/common.h"

#include <fcntl.h>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/gate.h"
#include "fusefs/objects/marker.h"

namespace confinefs::ops {

Result<Entry> remember(const Request& r, const guards::Place& place, ResolvedEntry found,
                       NodeType type, NodeRef* remembered) {
  Filesystem& fs = r.fs;
  InodeKey key{found.attr.st_dev, found.attr.st_ino};
  auto node = fs.nodes().remember(key, type, std::move(found.handle), place.dir->id(),
                                  place.name.view(), r.caller.uid);
  if (!node) return node.error();
  node.value()->saw_link_count(found.attr.st_nlink);
  Entry entry{node.value()->id(), shown(fs, type, found.attr)};
  if (remembered != nullptr) *remembered = std::move(node.value());
  return entry;
}

uint64_t xattr_bytes_at(Filesystem& fs, const Node& dir, const Name& name, const struct stat& st) {
  if (!fs.usage().tracking() || (st.st_nlink > 1 && !S_ISDIR(st.st_mode))) return 0;
  auto found = fs.resolver().lookup(dir.handle(), name);
  if (!found || found->attr.st_ino != st.st_ino || found->attr.st_dev != st.st_dev) return 0;
  auto fd = fs.resolver().reopen(found->handle.ref(), O_RDONLY);
  if (!fd) return 0;
  auto bytes = xattr_bytes(fd->ref());
  return bytes ? bytes.value() : 0;
}

void account_removal(Filesystem& fs, const struct stat& st, uint64_t xattrs) {
  InodeKey key{st.st_dev, st.st_ino};
  fs.usage().adjust_bytes(-static_cast<int64_t>(xattrs));
  if (S_ISREG(st.st_mode)) {
    NodeRef node = fs.nodes().find(key, NodeType::kRegular);
    if (!node || !node->defer_release()) fs.usage().adjust_bytes(-static_cast<int64_t>(st.st_size));
    if (st.st_mode & objects::kObjectBit) fs.made_here().erase(key);
  }
  fs.usage().give_inode();
}

Result<void> same_as_kernel_saw(Filesystem& fs, const guards::Place& place, const struct stat& st) {
  NodeRef known = fs.nodes().at(place.dir->id(), place.name.view());
  if (known && !(known->key() == InodeKey{st.st_dev, st.st_ino})) {
    return Error{ESTALE, Refusal::kIdentityMismatch};
  }
  return {};
}

struct stat shown(Filesystem& fs, NodeType type, const struct stat& st) {
  bool sticky = (type == NodeType::kFifo || type == NodeType::kSocket) &&
                fs.made_here().sticky(InodeKey{st.st_dev, st.st_ino});
  return objects::present(type, st, sticky);
}

Result<void> take_inode(const Request& r) {
  if (r.fs.usage().take_inode(r.policy->limits().quota_inodes)) return {};
  return guards::over_limit(r, EDQUOT, "quota_inodes");
}

}  // namespace confinefs::ops
