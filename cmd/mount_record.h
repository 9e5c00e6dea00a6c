// Which mounts a root-run confinefs made for a mountpoint, kept where only root writes.
//
// Threat (threat 43): the unit's ExecStopPost= (`unmount-after-stop`) runs as root after the
// daemon is gone; whatever it finds at MOUNTPOINT then is no proof of what the daemon mounted
// there (another tenant's mount may sit at the place the path names by then). So the daemon
// writes the mount's ids (mountinfo's and the never-reused unique id) when it mounts, with those
// of the bind of BACKING onto itself if it made one, into <control_dir>/<hash of the canonical
// mountpoint>.mount (the root-only directory of the control sockets, cmd/control.h), and a
// root-run step acts on those identities only: a mount with other ids is left alone. The record
// is removed with the mount.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "cmd/stale_mount.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

struct MountRecord {
  MountIdentity mount;  // the FUSE mount at MOUNTPOINT
  MountIdentity bind;   // the bind of BACKING onto itself this daemon made ({} when none)
  dev_t backing_dev = 0;
  ino_t backing_ino = 0;
  std::string backing;  // BACKING as the kernel named it then (absolute)
};

std::string mount_record_path(const std::string& canonical_mountpoint);

// Writes the record (root only: the directory is made 0700 and must belong to this user).
Result<void> record_mount(const std::string& canonical_mountpoint, const MountRecord& record);
// The record, when one written by root is there; nullopt otherwise.
std::optional<MountRecord> recorded_mount(const std::string& canonical_mountpoint);
void forget_mount(const std::string& canonical_mountpoint);

}  // namespace confinefs::cmd
