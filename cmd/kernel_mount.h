// KernelMount: the FUSE mount made by confinefs itself with the new mount API (fsopen, fsconfig,
// fsmount, move_mount) instead of by libfuse with mount(2).
//
// Threat: the unmount helper must only ever unmount its own daemon's mount. Read back from the
// mount point after mount(2), "which mount is ours" is a guess: an outside umount plus a new
// mount at the same path in between (a restart, another tenant's daemon), and the guess names
// the new mount, which the old daemon's helper then unmounts. fsmount() returns the mount before
// it is attached anywhere, so its ids are read from that fd and name exactly our mount.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/stale_mount.h"
#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

// The kernel's side of libfuse-style mount option words ("ro", "allow_other", "fsname=x", ...).
struct KernelMountOptions {
  std::string source = "confinefs";  // fsname=
  std::string subtype;
  std::vector<std::string> fs_flags;  // fsconfig flags (allow_other, ...)
  unsigned mount_attrs = 0;           // MOUNT_ATTR_* for fsmount
};

// nullopt when a word is one only libfuse implements (allow_root, auto_unmount) or unknown here:
// the caller then lets libfuse mount. nosuid and nodev are always set, whatever the words say.
std::optional<KernelMountOptions> kernel_mount_options(const std::vector<std::string>& words);

// Words libfuse 3.14 rejects but the kernel takes: only a KernelMount can apply them, so they are
// kept from libfuse.
bool kernel_only_option(std::string_view word);

class KernelMount {
 public:
  // Opens /dev/fuse and mounts that connection onto the directory `target` (the mount point
  // start-up checked, held as an fd so that no path is resolved again) at place.
  // ENOSYS or EPERM: this kernel or this caller cannot (the caller falls back to libfuse, which
  // runs fusermount3).
  static Result<KernelMount> mount(FdRef target, const MountPlace& place,
                                   const KernelMountOptions& o);

  KernelMount(KernelMount&& other) noexcept;
  KernelMount& operator=(KernelMount&&) = delete;
  KernelMount(const KernelMount&) = delete;
  KernelMount& operator=(const KernelMount&) = delete;
  // Lazily unmounts the mount if nobody took over (release()) and it is still at the place.
  ~KernelMount();

  const MountIdentity& identity() const noexcept { return identity_; }
  // The /dev/fuse fd of the connection, once, for libfuse ("/dev/fd/N").
  Fd take_channel() noexcept { return std::move(channel_); }
  // The unmount helper is responsible for the mount from now on.
  void release() noexcept { place_.reset(); }

 private:
  KernelMount(MountPlace place, Fd channel, MountIdentity identity)
      : place_(std::move(place)), channel_(std::move(channel)), identity_(identity) {}
  std::optional<MountPlace> place_;  // empty once released
  Fd channel_;
  MountIdentity identity_;
};

}  // namespace confinefs::cmd
