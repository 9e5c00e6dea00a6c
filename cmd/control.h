// Control: `confinefs status MOUNTPOINT` and `confinefs unmount-stale MOUNTPOINT`.
//
// Threat: runtime control must add no surface for the tenant. Nothing is exposed inside the mount
// (a control file there would be visible to, and writable by, the sandbox); status goes over a
// Unix socket in a root-only directory (/run/confinefs, mode 0700, socket 0600), and the server
// also checks the peer's credentials (uid 0) before answering. It only reads counters: there is
// no command that changes the daemon.
// Invariant: the socket is bound before the daemon drops privileges (it lives outside BACKING,
// where a confined daemon can no longer create anything) and removed by the unmount helper.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cmd/failure.h"
#include "cmd/mount_place.h"
#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

// /run/confinefs, or $CONFINEFS_RUN_DIR (tests).
std::string control_dir();
// Makes control_dir() (0700) and checks it belongs to this user and nobody else may enter it.
Result<void> prepare_control_dir();
// One socket per mountpoint: <control_dir>/<hash of the canonical mountpoint>.sock.
std::string control_socket_path(const std::string& canonical_mountpoint);

class ControlServer {
 public:
  // Creates the directory (0700) and binds the socket (0600), replacing a stale socket file.
  static Result<std::unique_ptr<ControlServer>> bind(const std::string& path,
                                                     std::function<std::string()> status);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Starts answering, on a thread of its own; call after the daemon confined itself, so the
  // thread inherits the restrictions.
  void start();

 private:
  ControlServer(Fd listener, Fd stop_read, Fd stop_write, std::function<std::string()> status);
  void serve();
  void answer(Fd client);
  Fd listener_, stop_read_, stop_write_;
  std::function<std::string()> status_;
  std::thread thread_;
};

// The place the subcommands act on: a usage Failure when it cannot be named, or its last
// component is a symbolic link (never followed, as at start).
Phase<MountPlace> place_of(const std::string& mountpoint);

// The subcommands; exit statuses as documented in confinefs(8).
int status_command(const std::string& mountpoint);
int unmount_stale_command(const std::string& mountpoint);

}  // namespace confinefs::cmd
