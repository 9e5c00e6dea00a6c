// MountWatch: whether a mount point can lie beneath BACKING, so that plain listings may skip the
// per-entry statx that hides mount points (threat 8) when there can be none.
//
// Lookups never rely on this: every lookup checks the mount id of what it opened. The watch only
// decides whether a listing must stat each name to leave mount points out. It answers "none" only
// when a scan of /proc/self/mountinfo found no mount point under BACKING's current path and the
// kernel has not signalled a change of the mount table since (poll() on mountinfo reports every
// mount and unmount in the namespace). On any doubt (a read error, BACKING deleted) it answers
// "possible".
#pragma once

#include <mutex>
#include <string>

#include "fusefs/fd.h"
#include "fusefs/lock_order.h"
#include "fusefs/resolve/resolver.h"

namespace confinefs {
inline namespace resolve {

class MountWatch {
 public:
  // Opens the mount table through the resolver's /proc; call in the serving process (after
  // daemonizing), before confinement. The resolver must outlive the watch.
  static Result<MountWatch> open(const Resolver& resolver);

  // Cheap when nothing changed: one poll() with a zero timeout.
  bool mounts_possible();

  MountWatch(MountWatch&& other) noexcept;
  MountWatch& operator=(MountWatch&&) = delete;
  ~MountWatch() = default;

 private:
  MountWatch(const Resolver& resolver, Fd mountinfo) noexcept
      : resolver_(resolver), mountinfo_(std::move(mountinfo)) {}
  bool scan() const;  // true when a mount point lies under BACKING, or on doubt
  bool changed() const;

  const Resolver& resolver_;
  Fd mountinfo_;
  OrderedMutex<LockLevel::kMountWatch> mutex_;
  bool possible_ = true;  // guarded by mutex_
};

}  // namespace resolve
}  // namespace confinefs
