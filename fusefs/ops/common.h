// Helpers shared by the operation files, on the values ops/enter.h hands out.
#pragma once

#include "fusefs/guards/gate.h"
#include "fusefs/mount/filesystem.h"
#include "fusefs/mount/parking.h"
#include "fusefs/mount/request.h"
#include "fusefs/resolve/name.h"

namespace confinefs::ops {

// What the mount shows for an entry the resolver admitted at dir/name: a directory, a regular
// file, or a symlink, FIFO or socket stored as a regular file (ops/objects.cpp). ENOENT with a
// Refusal for objects the policy does not serve.
Result<NodeType> kind_of(const Request& r, const Node& dir, const Name& name,
                         const ResolvedEntry& found);
// Marks dir as holding links, FIFOs or sockets (objects/marker.h, kHolderAttr), once.
void mark_holder(Filesystem& fs, const Node& dir);
// Bytes of the extended attributes of the entry dir/name (st: what stat_child showed), for giving
// them back to quota_bytes when it is removed; 0 when no quota is kept, or for a file with a
// second name (never opened: it may be outside).
uint64_t xattr_bytes_at(Filesystem& fs, const Node& dir, const Name& name, const struct stat& st);
// A name removed through the mount (unlink, rmdir, replaced by a rename; st: what it was) frees
// its share of the quota: one inode and, for a regular file, its apparent size, unless the daemon
// still holds the file open: then its bytes go back at the last close (node.h, threat 26). Its
// attributes' bytes (xattrs, measured before the removal) go back at once. A FIFO or socket made
// here leaves the mount's record.
void account_removal(Filesystem& fs, const struct stat& st, uint64_t xattrs);
// ESTALE when the kernel last learnt another inode at dir/name than the host holds there now
// (st): it checked its permissions (the sticky bit included) against that one. The kernel then
// looks the name up again and checks again before retrying (threat 36).
Result<void> same_as_kernel_saw(Filesystem& fs, const guards::Place& place, const struct stat& st);
// The attributes the client sees for a node of type with host attributes st (objects::present,
// with a FIFO's or socket's own sticky bit from the mount's record).
struct stat shown(Filesystem& fs, NodeType type, const struct stat& st);
// Records a successful resolution in the node table (on the caller's node budget) and builds the
// kernel's entry, with the attributes the mount shows for type; remembered (when given) gets the
// node itself.
Result<Entry> remember(const Request& r, const guards::Place& place, ResolvedEntry found,
                       NodeType type, NodeRef* remembered = nullptr);
// One inode of limits.quota_inodes for a new name (EDQUOT, audited, when none is left); give it
// back with fs.usage().give_inode() if the creation fails.
Result<void> take_inode(const Request& r);
// Creates (or, without O_EXCL, opens) the regular file at place (ops/open.cpp); mknod of a
// regular file makes one this way too.
struct Created;
Result<Created> create_at(const Request& r, const guards::Place& place, mode_t mode, int flags);
// The steps of a lookup of place (entered without a decision): resolve, decide once, classify,
// remember (ops/lookup.cpp). parent_inside: a READDIRPLUS checked its directory already.
Result<Entry> look_up(const Request& r, const guards::Place& place, bool parent_inside);

}  // namespace confinefs::ops
