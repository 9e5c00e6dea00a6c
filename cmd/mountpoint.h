// Start-up checks of MOUNTPOINT against BACKING, by identity (dev, ino), never by string prefix
// (threat 4): a mountpoint inside BACKING would let the mount see itself.
#pragma once

#include <sys/stat.h>

#include <string>

#include "fusefs/sys/fd.h"

namespace confinefs::cli {

struct CheckedMountpoint {
  std::string refusal;  // "" when the mountpoint is usable, else a one-line reason
  // The directory that was checked (O_PATH). confinefs mounts onto this fd, not the path: a
  // path component swapped after the check (a symlink into BACKING) cannot move the mount.
  Fd dir;
};

// /dev/fd/N (mount.fuse3) is accepted as is: the mount already exists and the daemon only
// serves it (no dir).
CheckedMountpoint check_mountpoint(const std::string& mountpoint, const struct stat& backing);

}  // namespace confinefs::cli
