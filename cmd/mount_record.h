// Which mount a root-run confinefs made at a mountpoint, kept where only root writes.
//
// Threat (threat 33): the unit's ExecStopPost= (`unmount-after-stop`) runs as root after the
// daemon is gone; whatever it finds at MOUNTPOINT then is no proof of what the daemon mounted
// there (another tenant's mount may sit at the place the path names by then). So the daemon
// writes the mount's ids (mountinfo's and the never-reused unique id) when it mounts, into
// <control_dir>/<hash of the canonical mountpoint>.mount (the root-only directory of the
// control sockets, cmd/control.h), and a root-run step acts on that identity only: a mount at
// the place with other ids is left alone. The record is removed with the mount.
#pragma once

#include <optional>
#include <string>

#include "cmd/stale_mount.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

std::string mount_record_path(const std::string& canonical_mountpoint);

// Writes the record (root only: the directory is made 0700 and must belong to this user).
Result<void> record_mount(const std::string& canonical_mountpoint, const MountIdentity& ids);
// The record, when one written by root is there; nullopt otherwise.
std::optional<MountIdentity> recorded_mount(const std::string& canonical_mountpoint);
void forget_mount(const std::string& canonical_mountpoint);

}  // namespace confinefs::cmd
