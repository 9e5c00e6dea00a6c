// MOUNTPOINT, named once. The parent directory is opened at start and held; the last component
// is looked up from it with O_NOFOLLOW whenever a step needs the directory or what is mounted on
// it: the live-mount check, the mount, `status`, `unmount-stale` and the unmount helper.
//
// Threat (threat 27): a path is resolved afresh at every use, and its components may change in
// between (a symlink swapped into an intermediate directory, or as the last component, pointing
// at another tenant's live mount). Acting by path, a later step would look at, or unmount,
// another directory than the one checked. The parent fd cannot be redirected; a mount point's
// own entry cannot be renamed or removed while something is mounted on it (EBUSY).
//
// Threat (threat 43): root-run steps (start-up, `status`, `unmount-stale`, the unit's
// ExecStopPost= `unmount-after-stop`) named MOUNTPOINT by a path that a tenant could change
// under them: one who owns a directory above its live mount renames the mount's parent away
// and puts a symlink to another tenant's directory in its place, and the stop of its own unit
// unmounted the other tenant's mount (and a start mounted over another user's directory). So
// the path is walked from / one component at a time without following any symlink, and, for
// root, every directory on the way must be one whose entries no other user can rename or
// replace: owned by root and writable by nobody else, or sticky with a root-owned entry.
#pragma once

#include <string>

#include "cmd/failure.h"
#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

class MountPlace {
 public:
  // Opens the parent of path (trailing slashes dropped; a relative path is taken from the
  // working directory's kernel name), walking from / without following symlinks. "/dev/fd/N"
  // (mount.fuse3's premounted form) and "/" have no place. As root, a directory on the way
  // that another user can write is refused (a usage Failure naming it).
  static Phase<MountPlace> open(const std::string& path);

  // The path as mountinfo and messages spell it: the parent as the kernel names it now, then
  // the last component as given.
  const std::string& canonical() const noexcept { return canonical_; }
  FdRef parent() const noexcept { return parent_.ref(); }

  // The topmost directory at the place (O_PATH): the root of what was mounted there last, or
  // the directory itself. ELOOP when the last component is a symbolic link (never followed:
  // it would lead to some other directory), ENOTDIR for anything else that is no directory.
  // Never asks a mounted filesystem anything.
  Result<Fd> open_top() const;

  // A second handle on the same place (for the unmount helper).
  Result<MountPlace> dup() const;
  // Moves the held parent fd to number fd (the helper keeps only fixed fds).
  Result<void> move_parent_to(int fd);

 private:
  MountPlace(Fd parent, std::string name, std::string canonical)
      : parent_(std::move(parent)), name_(std::move(name)), canonical_(std::move(canonical)) {}
  Fd parent_;
  std::string name_;
  std::string canonical_;
};

}  // namespace confinefs::cmd
