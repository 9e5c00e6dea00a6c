// "confinefs unmount-after-stop MOUNTPOINT UNIT": the shipped unit's ExecStopPost= with
// -o resume=on (docs/deployment.md, "Restarts and crashes").
//
// A daemon with resume=on leaves its mount behind whenever it stops, for the next daemon: its
// connection stays in systemd's fd store. Whether a next daemon comes is systemd's knowledge, not
// the daemon's (SIGTERM means both `systemctl stop` and `systemctl restart`). So after the daemon
// ended, this asks systemd: a start or restart job queued for UNIT (a restart, a package
// upgrade's try-restart), or a daemon that failed (Restart=on-failure starts the next one),
// keeps the mount; anything else (a stop) unmounts the mount the daemon recorded when it mounted
// (cmd/mount_record.h), found at MOUNTPOINT by those ids, without asking it anything (nobody
// serves it now), and removes its control socket. systemd then closes the stored connection.
// MOUNTPOINT is walked from / without following links (cmd/mount_place.h): a tenant cannot
// point this root-run step at another tenant's mount.
#pragma once

#include <string>

namespace confinefs::cmd {

int unmount_after_stop_command(const std::string& mountpoint, const std::string& unit);

}  // namespace confinefs::cmd
