// BACKING as a mount of its own: the kernel-level defence against hardlinks raced into it.
//
// Threat: an outside process loops link(OUTSIDE/f, BACKING/name); unlink(BACKING/name) while the
// sandbox writes `name`. The daemon's "same inode, one link" check of the name cannot be made
// atomic against this: unlink lowers the link count before the name disappears, so in that
// window the name shows one link while the outside name still exists, and a write verified then
// lands in the outside file. link(2) and rename(2) never cross a mount (EXDEV, even between two
// mounts of one filesystem), so once BACKING is the root of a mount that every path to it goes
// through, no name from outside can be linked or renamed into it (nor out of it) by path.
//
// auto: as root, bind BACKING onto itself unless it already is a mount root (a filesystem of its
// own, a subvolume, an earlier daemon's bind); otherwise serve without it and say so.
// require: refuse to start unless BACKING is or can be made a mount root.
// off: never (the link-count checks alone; for comparisons in scripts/torture).
// With resume=on the bind stays for the next daemon, so a restart opens no window; a daemon that
// stops for good removes the bind it made (release_bind). What it does not cover (views of
// BACKING older than it: cmd/older_views.h) is in docs/threat-model.md, rows 21 and 42.
#pragma once

#include <sys/stat.h>

#include <string>

#include "cmd/mount_record.h"
#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

enum class BackingMountMode { kAuto, kRequire, kOff };

// What start-up found or made at BACKING, for status and the logs: "own" (a mount root already),
// "bound" (this daemon bound it onto itself), "exposed" (either, while processes still reach it
// outside that mount root: cmd/older_views.h), "none".
enum class BackingMountState { kOwnMount, kMadeMount, kExposed, kNone };

struct BackingRoot {
  Fd dir;  // O_PATH handle of BACKING (underneath the bind when this daemon made one)
  BackingMountState state = BackingMountState::kNone;
  Fd bind;  // the root of the bind this daemon made (kMadeMount), to remove that very mount
};

// Removes the bind of BACKING this daemon made, by the fd of its root (never by path): nothing
// else mounted at BACKING meanwhile is touched.
Result<void> remove_bind(const Fd& bind);

// A bind outlives the daemon that made it (a restart opens no window), but one that stops for
// good removes it, unless another daemon still serves the same BACKING (a tenant's bind covers
// every other tenant of that directory). Each root daemon holds a shared lock for its life on
// <control_dir>/backing-DEV-INO.lock; the bind goes only when an exclusive one is free.
Result<Fd> hold_backing(const struct stat& backing);
// Removes the bind a record names, unless a daemon holds BACKING: through `bind` (its root, held
// by the unmount helper) or else found at the recorded BACKING path without following links,
// and only if what is there is the very mount recorded (its unique id, BACKING's inode at its
// root). Says what it did, for the caller's output ("" when the record names no bind).
std::string release_bind(const MountRecord& record, const Fd& bind = Fd());

// Opens BACKING (O_PATH; no following: a symlink as its last component is refused).
Result<Fd> open_backing_dir(const std::string& path);

// Makes the opened BACKING a mount root as `mode` asks, once every start-up check has passed (a
// refused start leaves nothing mounted). Errors: the bind's errno, with `require` only.
Result<BackingRoot> make_own_mount(Fd dir, const std::string& path, BackingMountMode mode);

const char* backing_mount_name(BackingMountState s) noexcept;

}  // namespace confinefs::cmd
