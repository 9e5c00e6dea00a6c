// systemd readiness protocol (sd_notify): READY=1 only once the mount is live, STATUS= for humans,
// STOPPING=1 when shutting down. Without NOTIFY_SOCKET (not under systemd) every call is a no-op.
//
// Threat: a unit marked ready before the kernel completed INIT would let tenant sessions start on
// an empty mountpoint directory and write their data to the host, outside the confinement.
#pragma once

#include <string>

namespace confinefs::cmd {

// From the FUSE INIT callback: the kernel has completed the handshake, the mount is live.
void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_stopping(const std::string& status);

}  // namespace confinefs::cmd
