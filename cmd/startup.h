// The start-up's shared vocabulary (cmd/main.cpp runs the phases): what the daemon is, what
// it mounted, what serving needs, and the mount's life, the one place where resume=on and
// resume=off differ (cmd/mount_life.cpp).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmd/backing_mount.h"
#include "cmd/failure.h"
#include "cmd/kernel_mount.h"
#include "cmd/mount_record.h"
#include "cmd/mountpoint.h"
#include "cmd/options.h"
#include "cmd/privileges.h"
#include "cmd/takeover.h"
#include "fusefs/fuse/connection_record.h"
#include "fusefs/fuse/mount_state.h"
#include "fusefs/fuse/request_drain.h"
#include "fusefs/fuse/session.h"
#include "fusefs/mount/filesystem.h"

namespace confinefs::cmd {

// What the daemon is, for STATUS=, the control socket and the logs.
struct Identity {
  std::string tenant, backing, mountpoint;
  int landlock_abi = 0;
  bool seccomp = false;
  BackingMountState backing_mount = BackingMountState::kNone;
  Fd bind{};  // the bind of BACKING onto itself this daemon made, if it made one
  // Held for this daemon's life: while it is, no stop removes BACKING's bind (cmd/backing_mount.h).
  Fd backing_lock{};
  MountRecord record{};  // what root-run steps after this daemon may unmount
  // passthrough=require, and the kernel did not take it at INIT: serving stopped (exit 1).
  std::atomic<bool> passthrough_refused{false};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::string line() const {
    return "tenant=" + tenant + " backing=" + backing + " mountpoint=" + mountpoint;
  }
};

// The mount as MountLife::mount left it.
struct Mounted {
  std::optional<KernelMount> own;  // the mount this process made with the new mount API
  Fd channel;  // a copy of that mount's /dev/fuse fd, for the passthrough registrar
  // -o resume=on: the connection's record (fuse/connection_record.h), new or taken over, and
  // the reading that lets a planned hand-over answer every request it took.
  std::optional<fuse::ConnectionRecord> connection;
  std::optional<fuse::RequestDrain> drain;
};

// What serving needs, gathered by run() once the filesystem is mounted.
struct Serving {
  Filesystem& fs;
  fuse::Session& session;
  fuse::MountState& state;
  const MountPlace* place;  // none when mount.fuse3 mounted it for us
  Mounted& mounted;
  const std::optional<Tenant>& tenant;
  Identity& id;
};

// MOUNTPOINT, named once: every later step finds its directory from the held parent. A stale
// mount there is cleared, a live one refused; then the top directory is checked against BACKING.
// None when mount.fuse3 mounted it for us (MOUNTPOINT is /dev/fd/N).
struct MountTarget {
  std::optional<MountPlace> place;
  Fd checked_dir;                    // the directory that was checked: the mount goes onto this fd
  std::optional<Takeover> takeover;  // resume=on: a predecessor's live connection
};

// How long the mount lives: the one place resume=on and resume=off differ (life_for()).
//   OwnedMount (resume=off): this daemon's. It mounts it, and its unmount helper takes it away
//   when serving ends.
//   KeptMount (resume=on): the supervisor's. The first daemon mounts it, each next one adopts its
//   predecessor's connection, what a successor needs is kept in the fd store, and a stop signal
//   leaves it mounted (docs/deployment.md).
class MountLife {
 public:
  virtual ~MountLife() = default;
  // A predecessor's live connection at place, to serve instead of mounting.
  virtual Phase<std::optional<Takeover>> predecessor(const MountPlace& place,
                                                     const struct stat& backing) = 0;
  virtual Phase<Mounted> mount(MountTarget& target, Identity& id, fuse::Session& session) = 0;
  // Once mounted, before the first request: what a successor will need.
  virtual Phase<> keep(MountTarget& target, Mounted& mounted, Filesystem& fs,
                       fuse::MountState& state) = 0;
  // As root, before confinement; only on a mount point of this daemon's own.
  virtual Phase<> before_confinement(Serving& s) = 0;
  // Confined, just before serving.
  virtual Phase<> serving(Serving& s) = 0;
  // Once serving ended (served: how).
  virtual Phase<> after_serving(Serving& s, const Result<void>& served) = 0;
};

// The mount's life for these options: KeptMount with resume=on, else OwnedMount.
std::unique_ptr<MountLife> life_for(const Options& opts);

// The mount options the daemon mounts with: the command line's, then ours last, so nothing on
// the command line can take them away.
std::vector<std::string> mount_options(const Options& o);

}  // namespace confinefs::cmd
