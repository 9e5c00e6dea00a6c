#include "fusefs/ops/verify.h"

#include <fcntl.h>

#include "fusefs/sys/syscalls.h"

namespace confinefs {

Result<void> verify_identity(const Filesystem& fs, const Node& node, const struct stat& st,
                             Purpose purpose) {
  if (node_type_of(st.st_mode) != node.type() || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
      st.st_dev != node.key().dev || st.st_ino != node.key().ino) {
    return Error{EIO, Refusal::kIdentityMismatch};
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    bool readable = purpose == Purpose::kRead &&
                    fs.policy()->hardlinks() == policy::HardlinkMode::kReadOnly;
    if (!readable) return Error{EACCES, Refusal::kHardlink};
  }
  return {};
}

Result<Fd> open_verified(Filesystem& fs, const Node& node, int flags, Purpose purpose) {
  if (node.is_dir()) flags = (flags & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY;
  auto fd = fs.resolver().reopen(node.handle(), flags);
  if (!fd) return fd.error();
  auto st = sys::fstat(fd->ref());
  if (!st) return st.error();
  if (auto ok = verify_identity(fs, node, st.value(), purpose); !ok) return ok.error();
  if (!(flags & O_NONBLOCK)) {
    auto status = sys::get_status_flags(fd->ref());
    if (!status) return status.error();
    if (auto cleared = sys::set_status_flags(fd->ref(), status.value() & ~O_NONBLOCK); !cleared) {
      return cleared.error();
    }
  }
  return fd;
}

}  // namespace confinefs
