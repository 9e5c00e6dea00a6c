// Resolver: the only place where confinefs names anything on the host.
//
// Threats (threats 1-4, 8-11): symlinks planted or raced in at any component, relative and
// chained links, mounts inside the backing directory, FIFOs and devices swapped in, /proc magic
// links. Invariant: after open_root(), every host call is an *at() call relative to a directory fd
// the daemon holds, with exactly one validated Name, O_NOFOLLOW|O_CLOEXEC (openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV where the kernel has
// it), and what was opened is classified with statx on the fd before anyone may use it.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "fusefs/fd.h"
#include "fusefs/resolve/name.h"
#include "fusefs/result.h"

namespace confinefs {
inline namespace resolve {

// What the resolver found at a name: an O_PATH handle and the attributes read from that handle.
struct ResolvedEntry {
  Fd handle;
  struct stat attr;
};

class Resolver {
 public:
  // The single use of a host path string for backing content: BACKING itself, opened once at start
  // with O_NOFOLLOW|O_DIRECTORY so a symlink as its last component is refused.
  static Result<Resolver> open_root(const char* backing_path);
  // The same from a directory handle start-up opened (cmd/backing_mount.h): its mount is the one
  // every lookup must stay on.
  static Result<Resolver> open_root(Fd backing_dir);

  FdRef root() const noexcept { return root_.ref(); }
  const struct stat& root_attr() const noexcept { return root_attr_; }

  // Opens dir/name with O_PATH|O_NOFOLLOW and admits only regular files and directories on the
  // backing mount; anything else is ENOENT with the Refusal that says why.
  Result<ResolvedEntry> lookup(FdRef dir, const Name& name) const;
  // Attributes of dir/name without following it or entering a mount there, classified like
  // lookup() (it is an O_PATH open and a statx of the handle).
  Result<struct stat> stat_child(FdRef dir, const Name& name) const;
  // The mode of dir/name without opening it, for listings only, and only while no mount can be
  // inside BACKING (the caller's MountWatch says so): a statx by name that never asks a
  // filesystem (AT_STATX_DONT_SYNC) and never follows a link or triggers an automount.
  Result<mode_t> peek_mode(FdRef dir, const Name& name) const;
  // Attributes of an open handle, classified like lookup() (type and mount).
  Result<struct stat> stat_handle(FdRef handle) const;

  // Reopens the exact inode behind an O_PATH handle for I/O, through the /proc/self/fd directory
  // opened and verified at start (never a "/proc/self/fd/N" string against whatever is mounted).
  // Always O_NONBLOCK|O_NOCTTY|O_CLOEXEC; never O_CREAT or O_TRUNC.
  Result<Fd> reopen(FdRef handle, int flags) const;

  // An O_PATH handle for the inode behind an fd this daemon opened (a file it just created).
  Result<Fd> path_handle(FdRef open_fd) const;

  // O_CREAT|O_EXCL|O_NOFOLLOW: fails with EEXIST on anything already at the name, symlinks
  // included.
  Result<ResolvedEntry> create_exclusive(FdRef dir, const Name& name, int flags, mode_t mode) const;
  Result<void> make_directory(FdRef dir, const Name& name, mode_t mode) const;
  // An unnamed regular file in dir (O_TMPFILE), read-write, to be filled and given its name
  // with link_unnamed(): a stored link or FIFO never appears half made.
  Result<Fd> make_unnamed(FdRef dir, mode_t mode) const;
  // Gives the unnamed file behind file the name dir/name (EEXIST when taken): linkat of the
  // daemon's own /proc/self/fd entry, which names that inode and nothing else.
  Result<void> link_unnamed(FdRef file, FdRef dir, const Name& name) const;
  Result<void> remove(FdRef dir, const Name& name, bool directory) const;
  // renameat2 between two held parent fds; the kernel moves whatever is at the names, never
  // following a link at either end.
  Result<void> rename(FdRef from_dir, const Name& from, FdRef to_dir, const Name& to,
                      unsigned flags) const;

  // The file handle of the inode behind handle (name_to_handle_at: its number and generation on
  // its filesystem, never used to open anything), as bytes with BACKING's device; EOPNOTSUPP on
  // a filesystem without handles.
  Result<std::string> file_handle(FdRef handle) const;

  // Takes and releases dir's exclusive inode lock without changing anything: a rename of name
  // onto itself with RENAME_NOREPLACE, refused under that lock (EEXIST, or ENOENT when the name
  // is gone), before any permission hook, event or timestamp. Every unlink, rmdir and rename of
  // an entry of dir holds that lock until the entry has left the dentry cache, so when this
  // returns none that was under way before it still is (guards/verify.cpp, threat 42).
  Result<void> wait_for_directory_changes(FdRef dir, const Name& name) const;

  // Whether every change to an inode after its ctime was read gives it a ctime that differs
  // from the one read (multigrain timestamps: ext4, tmpfs, xfs and btrfs since Linux 6.13), as
  // guards/verify.cpp's proof needs: a probe file in the root is read and changed (fchmod to its
  // own mode) kCtimeProbeRounds times, then removed. False on stores with coarse timestamps,
  // where changes within one tick share a ctime.
  Result<bool> ctime_changes_after_read() const;

  // Whether BACKING takes two spellings of a name for one (case folding as on ext4/f2fs casefold
  // directories, SMB or vfat; Unicode normalization): a probe file is made in the root and its
  // other spelling looked up, then the probe is removed. Rules match the client's bytes, so on
  // such a store they could be passed by a second spelling (cmd/main.cpp refuses them).
  Result<bool> folds_names() const;

  // Selects the openat() fallback, as on a kernel without openat2 or under a seccomp filter that
  // refuses it; tests run every resolver case both ways.
  void use_fallback_only() noexcept { use_openat2_ = false; }
  bool uses_openat2() const noexcept { return use_openat2_; }

  // /proc/self names the opening process: call again after a daemonizing fork.
  Result<void> rebind_proc();

  // Whether handle's inode is beneath BACKING at this instant; ESTALE (kMovedOut) when an outside
  // rename took it out. Landlock stops the daemon's opens there, but not an O_PATH lookup or a
  // statx, so without this names and attributes of what the host later puts in such a
  // directory would show through the mount. The kernel's name for the handle (its
  // /proc/self/fd link: where its dentry is now) must be BACKING's or below it; every handle is
  // on BACKING's mount (lookups never cross one), so this is ancestry, not a string guess.
  Result<void> check_inside(FdRef handle) const;

  // The last component of the kernel's name for handle (its /proc/self/fd link): the name its
  // dentry has now, read under the kernel's rename lock, so never half of a rename. A hint only:
  // the caller looks the name up again before believing it. ENOENT for an unlinked inode.
  Result<std::string> kernel_name(FdRef handle) const;

  // Where BACKING is now, as the kernel names it (the /proc/self/fd link of the root handle):
  // for reading the mount table only, never for opening anything. ENOENT once it is deleted.
  Result<std::string> root_path() const;
  // This process's /proc/PID/mountinfo, next to the verified /proc/self/fd directory.
  Result<Fd> open_mount_table() const;

  Resolver(Resolver&&) noexcept;
  Resolver& operator=(Resolver&&) = delete;
  ~Resolver();

 private:
  Resolver() = default;
  Result<Fd> open_proc_fd(FdRef fd, int flags) const;
  Result<Fd> open_beneath(FdRef dir, const Name& name, int flags, mode_t mode) const;
  Result<struct stat> admit(FdRef handle) const;
  Result<std::string> kernel_path(FdRef handle) const;
  Result<void> check_inside_by_walk(FdRef handle) const;
  Result<void> judge_path(const std::string& kernel_path) const;

  Fd root_;
  Fd proc_fds_;  // /proc/self/fd of this process, verified to be procfs
  struct stat root_attr_ {};
  std::string root_path_;  // the kernel's name for BACKING when the daemon started
  uint64_t root_mount_id_ = 0;
  mutable std::atomic<bool> use_openat2_{true};
};

}  // namespace resolve
}  // namespace confinefs
