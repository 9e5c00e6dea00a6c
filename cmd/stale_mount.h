// What is mounted at MOUNTPOINT, read from /proc/self/mountinfo (never guessed from an error).
//
// Threat: a restart after a crash must recover, but must never unmount or mount over something
// that is not a dead confinefs mount (a live session's data directory, another filesystem).
// Invariant: a mount is treated as stale only when mountinfo shows fuse.confinefs as the topmost
// mount at that exact path AND statfs() of it fails with ENOTCONN (its daemon is gone); only then
// is it lazily unmounted. Everything else at the mountpoint is left alone and reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fusefs/sys/mountinfo.h"
#include "fusefs/sys/result.h"

namespace confinefs::cli {

inline constexpr const char* kFsType = "fuse.confinefs";

using MountEntry = sys::MountInfoLine;

// kSilent: a confinefs mount whose daemon did not answer within a few seconds (stopped, stuck).
enum class MountState { kFree, kStale, kLive, kOther, kSilent };

struct MountProbe {
  MountState state = MountState::kFree;
  MountEntry entry;  // the topmost mount at the path, unless kFree
};

// The path as mountinfo spells it: the parent directory resolved (realpath), the last component
// kept as given, so that a stale mount (whose stat fails) can still be named. "" on error.
std::string canonical_mountpoint(const std::string& path);

// The topmost mount whose mount point is exactly `canonical`.
std::optional<MountEntry> top_mount_at(const std::string& canonical);

// Which confinefs mount is topmost at a path, to recognise it later. mountinfo's ids are reused
// as soon as a mount goes away, so a fresh mount at the same path can carry the id of the one
// just unmounted; the never-reused unique id (STATX_MNT_ID_UNIQUE, Linux 6.8) tells them apart.
struct MountIdentity {
  uint64_t id = 0;         // mountinfo's; 0: no confinefs mount there
  uint64_t unique_id = 0;  // 0: the kernel has none
};

// The ids of the mount that statx(dirfd, path, flags) lands on; {} when the kernel cannot tell.
// Never asks the mounted filesystem anything (a FUSE daemon that does not serve must not hang
// the caller).
MountIdentity statx_mount_ids(int dirfd, const char* path, int flags);
// The topmost confinefs mount at `canonical`, read back by path: a guess right after mounting
// (see kernel_mount.h), exact only when nothing else can have mounted there since.
MountIdentity mount_identity_at(const std::string& canonical);
// Whether the topmost mount at `canonical` is still `ours`.
bool still_mounted(const std::string& canonical, const MountIdentity& ours);

MountProbe probe_mountpoint(const std::string& canonical);

// umount2(MNT_DETACH|UMOUNT_NOFOLLOW) as root, `fusermount3 -u -z` otherwise.
Result<void> lazy_unmount(const std::string& canonical);

// Start-up: clears a stale confinefs mount at the mountpoint; returns "" when the mountpoint is
// free afterwards, else a one-line reason to refuse (live mount, other filesystem).
std::string clear_stale_mount(const std::string& mountpoint);

const char* state_name(MountState s) noexcept;

}  // namespace confinefs::cli
