#include "fusefs/guards/verify.h"

#include <fcntl.h>
#include <sched.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>

#include "fusefs/guards/current_name.h"
#include "fusefs/resolve/name.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::guards {
namespace {

// Whether a file seen with a second name may still be used: read under hardlinks: read-only.
enum class Links : unsigned char { kSoleName, kMayBeShared };

Links links_for(const Request& r, Purpose purpose) {
  return purpose == Purpose::kRead && r.policy->hardlinks() == policy::HardlinkMode::kReadOnly
             ? Links::kMayBeShared
             : Links::kSoleName;
}

// Records a link count seen for node and refuses a node ever seen multiply linked (threat 5).
Result<void> check_links(const Node& node, nlink_t nlink, Links links) {
  node.saw_link_count(nlink);
  if (node.multiply_linked() && links != Links::kMayBeShared) {
    return Error{EACCES, Refusal::kHardlink};
  }
  return {};
}

// Checks that a regular file's recorded name (in a parent directory the daemon holds) refers to
// this very inode and that the inode has no other name: fstat on the fd alone cannot, since
// between the open and the fstat an outside process can remove the backing name of a hardlink to
// an outside file, leaving the single, outside, link. ESTALE makes the kernel look the name up
// again and retry. Returns where the name was found (nothing for a file with no name left).
Result<std::optional<CurrentName>> verify_sole_name(Filesystem& fs, const Node& node, Links links) {
  if (node.multiply_linked() && links != Links::kMayBeShared) {
    return Error{EACCES, Refusal::kHardlink};
  }
  auto now = current_name(fs, node);
  if (now) {
    if (auto ok = check_links(node, now->attr.st_nlink, links); !ok) return ok.error();
    return std::optional<CurrentName>(std::move(now.value()));
  }
  // A file with no name left anywhere (inside BACKING or out) is served as an open racing the
  // rename onto its name gets it on a local filesystem: its content belongs to no file outside.
  if (now.code() == ENOENT) return std::optional<CurrentName>();
  return Error{ESTALE, Refusal::kIdentityMismatch};
}

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// One attempt at the proof of threat 42; false when the inode changed meanwhile (try again).
//
// A link count read at a name is no proof by itself: unlink(2) and a rename over the name lower
// the count before the name leaves the dentry cache, so while a hardlink to an outside file is
// being unlinked from BACKING its name shows that inode with one link, the outside one. So:
//   c   = the inode's ctime, read through the node's own handle;
//   a   = the name, read after c: this inode, one link, ctime c;
//   the directory's lock taken and released (Resolver::wait_for_directory_changes);
//   b   = the name again: this inode, one link, ctime c.
// Suppose another name O of the inode still counts after the barrier. If O counted at a, the
// single count at a means the name itself was being removed then (its count dropped, its entry
// still visible); that removal held the directory's lock, so it ended before the barrier, and
// the name seen at b was linked again after a. If O did not count at a, it was linked after a.
// Either way a link(2) or rename(2) of the inode ran after c was read, and each sets the inode's
// ctime under the inode's lock before its entry becomes visible; on a filesystem with multigrain
// timestamps (ext4, tmpfs, xfs, btrfs since Linux 6.13) a ctime set after one was read always
// differs from it, so b's ctime is not c. What is left at the barrier are names whose removal
// had already lowered the count: they are going, and none can come back (a name is given only
// through another name or an open file, and an unlinked one needs O_TMPFILE). docs/design.md
// ("Hardlinks raced in and out") cites the kernel code this rests on.
Result<bool> prove_sole_name_once(Filesystem& fs, const Node& node, Links links) {
  auto c = sys::fstat(node.handle());
  if (!c) return c.error();
  auto a = verify_sole_name(fs, node, links);
  if (!a) return a.error();
  if (!a->has_value()) return true;  // no name left at all
  const CurrentName& at_a = **a;
  auto name = Name::parse(at_a.name.c_str());
  if (!name) return Error{ESTALE, Refusal::kIdentityMismatch};
  if (auto ok = fs.resolver().wait_for_directory_changes(at_a.parent->handle(), name.value());
      !ok) {
    return ok.error();
  }
  auto b = verify_sole_name(fs, node, links);
  if (!b) return b.error();
  if (!b->has_value()) return true;
  const CurrentName& at_b = **b;
  return at_b.parent == at_a.parent && at_b.name == at_a.name &&
         same_time(at_a.attr.st_ctim, c->st_ctim) && same_time(at_b.attr.st_ctim, c->st_ctim);
}

// How many attempts before ESTALE: an outside process writing, renaming or exchanging the file
// without pause changes its ctime between the reads now and then, and each attempt takes a few
// microseconds; after the first few, each waits for the others to run (sched_yield).
constexpr int kProofAttempts = 64;
constexpr int kProofAttemptsBeforeYield = 4;

// The check before an open: the proof once per node, the name's link count afterwards.
Result<void> check_sole_name(Filesystem& fs, const Node& node, Links links) {
  if (node.sole_name_proven() || !fs.config().prove_sole_names) {
    if (auto ok = verify_sole_name(fs, node, links); !ok) return ok.error();
    return {};
  }
  // An inode proven before, by a node the kernel has since forgotten (nodes/proven_inodes.h).
  auto handle = fs.resolver().file_handle(node.handle());
  if (handle && fs.proven_inodes().contains(handle.value())) {
    node.set_sole_name_proven();
    if (auto ok = verify_sole_name(fs, node, links); !ok) return ok.error();
    return {};
  }
  for (int attempt = 0; attempt < kProofAttempts; ++attempt) {
    auto proven = prove_sole_name_once(fs, node, links);
    if (!proven && proven.code() == EROFS) {
      // BACKING's mount is read-only here: the barrier (a rename) cannot run, and nothing can be
      // written through the mount anyway. The link counts stand alone, as the log says once.
      static std::atomic<bool> said{false};
      if (!said.exchange(true)) {
        spdlog::warn(
            "BACKING is mounted read-only: a hardlink raced in and out of a name is "
            "stopped by the link-count checks and the BACKING bind only");
      }
      if (auto ok = verify_sole_name(fs, node, links); !ok) return ok.error();
      return {};
    }
    if (!proven) return proven.error();
    if (proven.value()) {
      node.set_sole_name_proven();
      if (handle) fs.proven_inodes().insert(handle.value());
      return {};
    }
    if (attempt >= kProofAttemptsBeforeYield) ::sched_yield();
  }
  return Error{ESTALE, Refusal::kHardlink};
}

Result<void> verify_identity(const Node& node, const struct stat& st, Links links) {
  // Symlinks, FIFOs and sockets made through the mount are regular files on the host.
  if (S_ISDIR(st.st_mode) != node.is_dir() || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
      st.st_dev != node.key().dev || st.st_ino != node.key().ino) {
    return Error{EIO, Refusal::kIdentityMismatch};
  }
  return check_links(node, st.st_nlink, links);
}

}  // namespace

Result<void> verify_identity(const Request& r, const Node& node, const struct stat& st,
                             Purpose purpose) {
  return verify_identity(node, st, links_for(r, purpose));
}

Result<Fd> open_verified(const Request& r, const Node& node, int flags, Purpose purpose,
                         struct stat* attr) {
  Filesystem& fs = r.fs;
  const Links links = links_for(r, purpose);
  if (node.is_dir()) flags = (flags & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY;
  // Before the open too: opening a file that may be outside BACKING is itself an effect on it
  // (its watchers see IN_OPEN and IN_CLOSE_WRITE, a lease on it is broken, a running binary
  // gives ETXTBSY). What is known (a second link seen at lookup) and what the name shows now
  // refuse it without touching it.
  if (!node.is_dir()) {
    if (auto ok = check_sole_name(fs, node, links); !ok) return ok.error();
  }
  auto fd = fs.resolver().reopen(node.handle(), flags);
  if (!fd) return fd.error();
  auto st = sys::fstat(fd->ref());
  if (!st) return st.error();
  if (auto ok = verify_identity(node, st.value(), links); !ok) return ok.error();
  if (attr != nullptr) *attr = st.value();
  // Directories cannot be hardlinked; a directory moved out of the tree is Landlock's to stop.
  // Again after the open: a link raced in between the first check and the open is seen here.
  if (!node.is_dir()) {
    if (auto ok = verify_sole_name(fs, node, links); !ok) return ok.error();
  }
  if (!(flags & O_NONBLOCK)) {
    auto status = sys::get_status_flags(fd->ref());
    if (!status) return status.error();
    if (auto cleared = sys::set_status_flags(fd->ref(), status.value() & ~O_NONBLOCK); !cleared) {
      return cleared.error();
    }
  }
  return fd;
}

}  // namespace confinefs::guards
