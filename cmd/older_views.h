// Who still reaches BACKING without crossing its mount root: views older than the bind.
//
// Threat (threat 42): the bind of BACKING onto itself (cmd/backing_mount.h) makes link(2) and
// rename(2) into BACKING fail with EXDEV only for paths that go through it. A process whose
// working directory, root or an open directory was inside BACKING before the bind, a mount
// namespace copied before it (a container started earlier), or another mount of BACKING's
// filesystem that is no peer of its parent's (a bind of a parent elsewhere) reaches BACKING's
// tree on a mount where BACKING is not a mount root, and links from outside work there. The
// daemon's proof at first open (guards/verify.cpp) stands against them anyway; this names them,
// so an operator can close them, and backing_mount=require refuses to start while any is left.
//
// Found as root before privileges are dropped, through /proc, by identity: a directory is a
// view of BACKING when walking up from it (`..`, which climbs out of mounts too) reaches BACKING's
// (dev, ino) on a mount where it is not the mount root. Paths from mountinfo are only candidates,
// each opened and judged the same way.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "fusefs/fd.h"

namespace confinefs::cmd {

struct OlderView {
  pid_t pid = 0;
  std::string comm;  // the process's name
  std::string how;   // "cwd", "root", "fd 7", "path /srv/alias/backing in its mount namespace"
};

// backing: BACKING's attributes; backing_path: the operator's path to it (for mountinfo
// candidates). This process and its children are not counted.
std::vector<OlderView> find_older_views(const struct stat& backing,
                                        const std::string& backing_path);

// "pid 123 (bash): cwd" for the log.
std::string describe(const OlderView& view);

}  // namespace confinefs::cmd
