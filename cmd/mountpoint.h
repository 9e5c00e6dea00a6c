// Start-up checks of MOUNTPOINT against BACKING, by identity (dev, ino), never by string prefix
// (threat 4): a mountpoint inside BACKING would let the mount see itself.
#pragma once

#include <sys/stat.h>

#include <string>

#include "cmd/failure.h"
#include "cmd/mount_place.h"
#include "fusefs/fd.h"

namespace confinefs::cmd {

// The topmost directory at place (its last component never followed: a symlink is refused), not
// BACKING and not inside it, as an O_PATH fd. confinefs mounts onto this fd, not the path: a
// path component swapped after the check (a symlink into BACKING) cannot move the mount.
Phase<Fd> check_mountpoint(const MountPlace& place, const struct stat& backing);

}  // namespace confinefs::cmd
