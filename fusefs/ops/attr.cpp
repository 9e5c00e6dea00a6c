// setattr: chmod, chown, truncate and utimens, each through a verified fd (threats 6, 12-14):
// never by name, never following a link, never on a hardlinked file, no setuid/setgid bits stored.
#include <fcntl.h>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/gate.h"
#include "fusefs/guards/growth.h"
#include "fusefs/guards/verify.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

Result<Fd> fd_for_change(const Request& r, const Node& node, const AttrChange& change) {
  if (change.size) return guards::open_verified(r, node, O_WRONLY, guards::Purpose::kWrite);
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kMetadata);
  // A write-only file the daemon cannot read (a non-root daemon) can still be chmod'ed natively.
  if (!fd && fd.code() == EACCES && fd.error().refusal == Refusal::kNone && !node.is_dir()) {
    fd = guards::open_verified(r, node, O_WRONLY, guards::Purpose::kMetadata);
  }
  return fd;
}

Result<void> apply(FdRef fd, const struct stat& now, const AttrChange& change) {
  if (change.uid || change.gid) {
    uid_t uid = change.uid ? *change.uid : static_cast<uid_t>(-1);
    gid_t gid = change.gid ? *change.gid : static_cast<gid_t>(-1);
    if (auto ok = sys::fchown(fd, uid, gid); !ok) return ok;
  }
  if (change.mode) {
    // Threat 12: setuid/setgid bits never reach the host file.
    mode_t mode = *change.mode & 07777 & ~static_cast<mode_t>(S_ISUID | S_ISGID);
    if (auto ok = sys::fchmod(fd, mode); !ok) return ok;
  }
  if (change.size && S_ISREG(now.st_mode)) {
    if (auto ok = sys::ftruncate(fd, *change.size); !ok) return ok;
  } else if (change.size) {
    return Error{EISDIR};
  }
  if (change.atime || change.mtime) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (change.atime) times[0] = *change.atime;
    if (change.mtime) times[1] = *change.mtime;
    if (auto ok = sys::futimens(fd, times); !ok) return ok;
  }
  return {};
}

// Ownership may only stay, or (for a non-root caller, whose group membership the kernel checked
// under default_permissions) move to one of the caller's groups. Giving files away is refused
// unless the policy's create.allow_chown says otherwise (the kernel still lets only root do it).
Result<void> check_chown(const Request& r, const struct stat& now, const AttrChange& change) {
  const Caller& c = r.caller;
  bool gives_away = (change.uid && *change.uid != now.st_uid) ||
                    (change.gid && *change.gid != now.st_gid && *change.gid != c.gid && c.uid == 0);
  if (!gives_away || r.policy->create().allow_chown) return {};
  return guards::over_limit(r, EPERM, "allow_chown");
}

// Truncation to a larger size is growth like a write: limits.max_file_size and quota_bytes.
Result<void> apply_limited(const Request& r, const Node& node, FdRef fd, const struct stat& now,
                           const AttrChange& change) {
  if (!change.size || !S_ISREG(now.st_mode)) return apply(fd, now, change);
  uint64_t size = static_cast<uint64_t>(*change.size);
  if (size > static_cast<uint64_t>(now.st_size)) {
    if (auto ok = guards::check_file_size(r, size); !ok) return ok;
  }
  return guards::with_growth(r, fd, node, guards::grows_to(size),
                             [&] { return apply(fd, now, change); });
}

Result<struct stat> change_attributes(const Request& r, const Node& node, const AttrChange& change,
                                      OpenFile* file) {
  Filesystem& fs = r.fs;
  Fd own;
  FdRef fd(-1);
  if (file && file->node->id() == node.id()) {
    fd = file->fd.ref();  // verified when it was opened, bound to the inode since
  } else {
    auto opened = fd_for_change(r, node, change);
    if (!opened) return opened.error();
    own = std::move(opened.value());
    fd = own.ref();
  }
  auto now = sys::fstat(fd);
  if (!now) return now.error();
  // A hardlink made after an earlier open must not turn that open into a way to change metadata.
  if (auto ok = guards::verify_identity(r, node, now.value(), guards::Purpose::kMetadata); !ok) {
    return ok.error();
  }
  if (auto ok = check_chown(r, now.value(), change); !ok) return ok.error();
  NodeType type = node.type();
  AttrChange host_change = change;
  if (type != NodeType::kRegular && type != NodeType::kDirectory) {
    // A stored link, FIFO or socket keeps the bit that marks it on the host (objects/marker.h),
    // and has no content size to change.
    if (change.size) return Error{EINVAL};
    if (change.mode) {
      host_change.mode = (*change.mode & 0777) | objects::kObjectBit;
      fs.made_here().set_sticky(node.key(), (*change.mode & S_ISVTX) != 0);
    }
  }
  if (auto ok = apply_limited(r, node, fd, now.value(), host_change); !ok) return ok.error();
  auto after = sys::fstat(fd);
  if (!after) return after.error();
  return shown(fs, type, after.value());
}

}  // namespace

Outcome<struct stat> setattr(const Request& r, uint64_t id, const AttrChange& change,
                             OpenFile* file) {
  auto node = enter(r, id, guards::Intent::kModify);
  if (!node) return refused<struct stat>(r, node.error());
  return answer(r, change_attributes(r, *node.value(), change, file));
}

}  // namespace confinefs::ops
