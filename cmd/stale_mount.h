// What is mounted at MOUNTPOINT, read from /proc/self/mountinfo (never guessed from an error).
//
// Threat: a restart after a crash must recover, but must never unmount or mount over something
// that is not a dead confinefs mount (a live session's data directory, another filesystem).
// Invariant: a mount is treated as stale only when the topmost mount on the mountpoint's
// directory (found from its held parent, cmd/mount_place.h) is fuse.confinefs in mountinfo AND
// statfs() of it fails with ENOTCONN (its daemon is gone); only then is that very mount lazily
// unmounted. Everything else at the mountpoint is left alone and reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cmd/failure.h"
#include "cmd/mount_place.h"
#include "fusefs/result.h"
#include "fusefs/sys/mountinfo.h"

namespace confinefs::cmd {

inline constexpr const char* kFsType = "fuse.confinefs";

using MountEntry = sys::MountInfoLine;

// kSilent: a confinefs mount whose daemon did not answer within a few seconds (stopped, stuck).
enum class MountState { kFree, kStale, kLive, kOther, kSilent };

// Which confinefs mount is topmost at a place, to recognise it later. mountinfo's ids are reused
// as soon as a mount goes away, so a fresh mount at the same path can carry the id of the one
// just unmounted; the never-reused unique id (STATX_MNT_ID_UNIQUE, Linux 6.8) tells them apart.
struct MountIdentity {
  uint64_t id = 0;         // mountinfo's; 0: no confinefs mount there
  uint64_t unique_id = 0;  // 0: the kernel has none
  bool operator==(const MountIdentity&) const = default;
};

struct MountProbe {
  MountState state = MountState::kFree;
  MountEntry entry;  // the topmost mount at the place, unless kFree
  MountIdentity ids;
};

// The ids of the mount that statx(dirfd, path, flags) lands on; {} when the kernel cannot tell.
// Never asks the mounted filesystem anything (a FUSE daemon that does not serve must not hang
// the caller).
MountIdentity statx_mount_ids(int dirfd, const char* path, int flags);
// The topmost confinefs mount at place; {} when there is none.
MountIdentity mount_identity_at(const MountPlace& place);

// What is mounted on the place's directory now, found by identity: the mount its topmost
// directory is on, unless that is the parent's (nothing is mounted there). A confinefs mount is
// asked (from a child process, given up after a few seconds) whether its daemon still answers.
MountProbe probe_mountpoint(const MountPlace& place);

// Lazily unmounts the topmost mount at place if it is still `expected`; ENOENT when another
// mount (or none) is there now. As root the mount is unmounted through the very fd whose ids
// were checked (umount2 of its /proc/self/fd link), so no other mount can be hit in between;
// otherwise `fusermount3 -u -z` by path.
Result<void> unmount_if(const MountPlace& place, const MountIdentity& expected);

// Start-up: clears a stale confinefs mount at the place, so that it is free afterwards; a live
// mount, one whose daemon does not answer or another filesystem there is a usage Failure.
Phase<> clear_stale_mount(const MountPlace& place);

const char* state_name(MountState s) noexcept;

}  // namespace confinefs::cmd
