#include "fusefs/guards/verify.h"

#include <fcntl.h>

#include "fusefs/guards/current_name.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::guards {
namespace {

bool hardlinks_readable(const Filesystem& fs, Purpose purpose) {
  return purpose == Purpose::kRead && fs.policy()->hardlinks() == policy::HardlinkMode::kReadOnly;
}

// Records a link count seen for node and refuses a node ever seen multiply linked (threat 5).
Result<void> check_links(const Filesystem& fs, const Node& node, nlink_t nlink, Purpose purpose) {
  node.saw_link_count(nlink);
  if (node.multiply_linked() && !hardlinks_readable(fs, purpose)) {
    return Error{EACCES, Refusal::kHardlink};
  }
  return {};
}

// Checks that a regular file's recorded name (in a parent directory the daemon holds) refers to
// this very inode and that the inode has no other name: fstat on the fd alone cannot, since
// between the open and the fstat an outside process can remove the backing name of a hardlink to
// an outside file, leaving the single, outside, link. ESTALE makes the kernel look the name up
// again and retry. This is the second layer, not a proof: unlink lowers the link count before
// the name disappears, so while a backing name of a two-link inode is being unlinked the name
// shows one link. The first layer makes that state unreachable from outside: BACKING is a mount
// of its own (cmd/backing_mount.h), so link(2) and rename(2) from outside fail with EXDEV.
Result<void> verify_sole_name(Filesystem& fs, const Node& node, Purpose purpose) {
  if (node.multiply_linked() && !hardlinks_readable(fs, purpose)) {
    return Error{EACCES, Refusal::kHardlink};
  }
  auto now = current_name(fs, node);
  if (now) return check_links(fs, node, now->attr.st_nlink, purpose);
  // A file with no name left anywhere (inside BACKING or out) is served as an open racing the
  // rename onto its name gets it on a local filesystem: its content belongs to no file outside.
  if (now.code() == ENOENT) return {};
  return Error{ESTALE, Refusal::kIdentityMismatch};
}

}  // namespace

Result<void> verify_identity(const Filesystem& fs, const Node& node, const struct stat& st,
                             Purpose purpose) {
  // Symlinks, FIFOs and sockets made through the mount are regular files on the host.
  if (S_ISDIR(st.st_mode) != node.is_dir() || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
      st.st_dev != node.key().dev || st.st_ino != node.key().ino) {
    return Error{EIO, Refusal::kIdentityMismatch};
  }
  return check_links(fs, node, st.st_nlink, purpose);
}

Result<Fd> open_verified(Filesystem& fs, const Node& node, int flags, Purpose purpose,
                         struct stat* attr) {
  if (node.is_dir()) flags = (flags & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY;
  // Before the open too: opening a file that may be outside BACKING is itself an effect on it
  // (its watchers see IN_OPEN and IN_CLOSE_WRITE, a lease on it is broken, a running binary
  // gives ETXTBSY). What is known (a second link seen at lookup) and what the name shows now
  // refuse it without touching it.
  if (!node.is_dir()) {
    if (auto ok = verify_sole_name(fs, node, purpose); !ok) return ok.error();
  }
  auto fd = fs.resolver().reopen(node.handle(), flags);
  if (!fd) return fd.error();
  auto st = sys::fstat(fd->ref());
  if (!st) return st.error();
  if (auto ok = verify_identity(fs, node, st.value(), purpose); !ok) return ok.error();
  if (attr != nullptr) *attr = st.value();
  // Directories cannot be hardlinked; a directory moved out of the tree is Landlock's to stop.
  // Again after the open: a link raced in between the first check and the open is seen here.
  if (!node.is_dir()) {
    if (auto ok = verify_sole_name(fs, node, purpose); !ok) return ok.error();
  }
  if (!(flags & O_NONBLOCK)) {
    auto status = sys::get_status_flags(fd->ref());
    if (!status) return status.error();
    if (auto cleared = sys::set_status_flags(fd->ref(), status.value() & ~O_NONBLOCK); !cleared) {
      return cleared.error();
    }
  }
  return fd;
}

}  // namespace confinefs::guards
