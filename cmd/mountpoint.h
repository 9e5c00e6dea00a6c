// Start-up checks of MOUNTPOINT against BACKING, by identity (dev, ino), never by string prefix
// (threats.md #4): a mountpoint inside BACKING would let the mount see itself.
#pragma once

#include <sys/stat.h>

#include <string>

namespace confinefs::cli {

// Returns "" when mountpoint is usable, else a one-line reason. /dev/fd/N (mount.fuse3) is
// accepted as is: the mount already exists and the daemon only serves it.
std::string check_mountpoint(const std::string& mountpoint, const struct stat& backing);

}  // namespace confinefs::cli
