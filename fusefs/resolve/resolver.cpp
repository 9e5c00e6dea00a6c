#include "fusefs/resolve/resolver.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <climits>

#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace resolve {
namespace {

// The name of fd's entry in /proc/self/fd: its number, NUL-terminated (an int always fits).
std::array<char, 16> proc_fd_name(FdRef fd) {
  std::array<char, 16> name{};
  std::to_chars(name.data(), name.data() + name.size() - 1, fd.get());
  return name;
}

// Flags the resolver adds to every open; the caller's flags can never remove them. (openat2
// rejects O_NOCTTY together with O_PATH, and an O_PATH fd cannot become a terminal anyway.)
constexpr int kAlwaysOpenFlags = O_NOFOLLOW | O_CLOEXEC;
constexpr int kAlwaysIoFlags = O_NOCTTY;
// Flags a reopen must never carry: creation and truncation happen only through the checked paths.
constexpr int kNeverReopenFlags = O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_PATH | O_TMPFILE;
constexpr uint64_t kResolveStrict =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

struct stat to_stat(const struct statx& x) {
  struct stat st {};
  st.st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
  st.st_ino = x.stx_ino;
  st.st_mode = x.stx_mode;
  st.st_nlink = x.stx_nlink;
  st.st_uid = x.stx_uid;
  st.st_gid = x.stx_gid;
  st.st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
  st.st_size = static_cast<off_t>(x.stx_size);
  st.st_blksize = x.stx_blksize;
  st.st_blocks = static_cast<blkcnt_t>(x.stx_blocks);
  st.st_atim = {x.stx_atime.tv_sec, x.stx_atime.tv_nsec};
  st.st_mtim = {x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec};
  st.st_ctim = {x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec};
  return st;
}

Result<Fd> raw_openat2(FdRef dir, const char* name, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = kResolveStrict;
  long fd = ::syscall(SYS_openat2, dir.get(), name, &how, sizeof how);
  if (fd < 0) return last_error();
  return Fd(static_cast<int>(fd));
}

Result<Fd> raw_openat(FdRef dir, const char* name, int flags, mode_t mode) {
  int fd = ::openat(dir.get(), name, flags, mode);
  if (fd < 0) return last_error();
  return Fd(fd);
}

bool is_procfs(FdRef fd) {
  struct statfs sf {};
  return ::fstatfs(fd.get(), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

}  // namespace

Resolver::Resolver(Resolver&& o) noexcept
    : root_(std::move(o.root_)),
      proc_fds_(std::move(o.proc_fds_)),
      root_attr_(o.root_attr_),
      root_path_(std::move(o.root_path_)),
      root_mount_id_(o.root_mount_id_),
      use_openat2_(o.use_openat2_.load()) {}

Resolver::~Resolver() = default;

Result<Resolver> Resolver::open_root(const char* backing_path) {
  auto root =
      raw_openat(FdRef(AT_FDCWD), backing_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (!root) return root.error();
  return open_root(std::move(root.value()));
}

Result<Resolver> Resolver::open_root(Fd backing_dir) {
  Resolver r;
  r.root_ = std::move(backing_dir);

  struct statx stx {};
  if (::statx(r.root_.get(), "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0) {
    return last_error();
  }
  if (!(stx.stx_mask & STATX_MNT_ID)) return Error{EOPNOTSUPP};
  if (!S_ISDIR(stx.stx_mode)) return Error{ENOTDIR};
  r.root_attr_ = to_stat(stx);
  r.root_mount_id_ = stx.stx_mnt_id;

  if (auto proc = r.rebind_proc(); !proc) return proc.error();
  auto path = r.root_path();
  if (!path) return path.error();
  r.root_path_ = std::move(path.value());

  // Probe openat2 once: ENOSYS (old kernel) or EPERM (a seccomp filter) selects the fallback,
  // which is equally strict for single components: O_NOFOLLOW plus the mount-id check in admit().
  auto probe = raw_openat2(r.root(), ".", O_PATH | O_CLOEXEC, 0);
  if (!probe && (probe.code() == ENOSYS || probe.code() == EPERM)) r.use_openat2_ = false;
  return r;
}

Result<void> Resolver::rebind_proc() {
  // /proc/self names the process that opens it, so this runs again after daemonizing forks.
  auto proc = raw_openat(FdRef(AT_FDCWD), "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (!proc) return proc.error();
  if (!is_procfs(proc->ref())) return Error{EXDEV};
  proc_fds_ = std::move(proc.value());
  return {};
}

Result<Fd> Resolver::open_beneath(FdRef dir, const Name& name, int flags, mode_t mode) const {
  flags |= kAlwaysOpenFlags | ((flags & O_PATH) ? 0 : kAlwaysIoFlags);
  if (use_openat2_.load(std::memory_order_relaxed)) {
    auto fd = raw_openat2(dir, name.c_str(), flags, mode);
    if (fd || fd.code() != ENOSYS) {
      // RESOLVE_NO_XDEV reports a mount point at the name as EXDEV: invisible, never crossed.
      if (!fd && fd.code() == EXDEV) return Error{ENOENT, Refusal::kForeignMount};
      return fd;
    }
    use_openat2_.store(false, std::memory_order_relaxed);
  }
  return raw_openat(dir, name.c_str(), flags, mode);
}

Result<struct stat> Resolver::admit(FdRef handle) const {
  // The mount id first, from the daemon's own records (AT_STATX_DONT_SYNC: no filesystem is
  // asked): under the openat() fallback the handle may be the root of a mount at the name, and a
  // full statx of it would wait on that filesystem's server (threat 24).
  struct statx stx {};
  if (!use_openat2_.load(std::memory_order_relaxed)) {
    if (::statx(handle.get(), "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0) {
      return last_error();
    }
    if (stx.stx_mnt_id != root_mount_id_) return Error{ENOENT, Refusal::kForeignMount};
  }
  if (::statx(handle.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
              STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0) {
    return last_error();
  }
  if (S_ISLNK(stx.stx_mode)) return Error{ENOENT, Refusal::kSymlink};
  if (!S_ISREG(stx.stx_mode) && !S_ISDIR(stx.stx_mode)) {
    return Error{ENOENT, Refusal::kSpecialFile};
  }
  // st_dev alone misses a bind mount of the same filesystem; the mount id does not (a name that
  // is a mount point resolves into the mounted tree, whose mount id differs from the root's).
  if (stx.stx_mnt_id != root_mount_id_) {
    return Error{ENOENT, Refusal::kForeignMount};
  }
  return to_stat(stx);
}

Result<ResolvedEntry> Resolver::lookup(FdRef dir, const Name& name) const {
  auto fd = open_beneath(dir, name, O_PATH, 0);
  if (!fd) return fd.error();
  auto attr = stat_handle(fd->ref());
  if (!attr) return attr.error();
  return ResolvedEntry{std::move(fd.value()), attr.value()};
}

Result<struct stat> Resolver::stat_child(FdRef dir, const Name& name) const {
  // Never statx by name: on a mount point that walks into the mounted filesystem's root and asks
  // its server, which a hung FUSE mount inside BACKING never answers (threat 24). lookup()'s
  // no-follow O_PATH open stops at the mount (RESOLVE_NO_XDEV) without entering it.
  auto found = lookup(dir, name);
  if (!found) return found.error();
  return found->attr;
}

Result<struct stat> Resolver::stat_handle(FdRef handle) const { return admit(handle); }

Result<mode_t> Resolver::peek_mode(FdRef dir, const Name& name) const {
  struct statx stx {};
  if (::statx(dir.get(), name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC,
              STATX_TYPE | STATX_MODE, &stx) < 0) {
    return last_error();
  }
  return static_cast<mode_t>(stx.stx_mode);
}

Result<Fd> Resolver::open_proc_fd(FdRef fd, int flags) const {
  // Follows the /proc/self/fd magic link of our own fd: it names an inode, not a path, so
  // nothing an outside process does to the backing tree can redirect it.
  return raw_openat(proc_fds_.ref(), proc_fd_name(fd).data(), flags | O_CLOEXEC, 0);
}

Result<std::string> Resolver::kernel_path(FdRef handle) const {
  char target[PATH_MAX + 1];
  ssize_t n = ::readlinkat(proc_fds_.get(), proc_fd_name(handle).data(), target, PATH_MAX);
  if (n < 0) return last_error();
  // PATH_MAX bytes may be a truncated name: treat it as too long.
  if (n >= PATH_MAX) return Error{ENAMETOOLONG};
  return std::string(target, static_cast<size_t>(n));
}

Result<std::string> Resolver::kernel_name(FdRef handle) const {
  auto path = kernel_path(handle);
  if (!path) return path.error();
  if (path->ends_with(" (deleted)")) return Error{ENOENT};
  size_t slash = path->rfind('/');
  if (slash == std::string::npos || slash + 1 == path->size()) return Error{ENOENT};
  return path->substr(slash + 1);
}

Result<std::string> Resolver::root_path() const {
  auto path = kernel_path(root_.ref());
  if (!path) return path.error();
  if (path->empty() || path->front() != '/' || path->ends_with(" (deleted)")) return Error{ENOENT};
  return path;
}

namespace {

// Whether path is root or beneath it. A directory removed inside BACKING reads "root/d (deleted)";
// one outside never starts with "root/" (that name is BACKING's in this mount namespace), and an
// unreachable one starts with "(unreachable)".
bool beneath(std::string_view path, std::string_view root) {
  if (root.empty() || !path.starts_with(root)) return false;
  return path.size() == root.size() || root == "/" || path[root.size()] == '/';
}

}  // namespace

Result<void> Resolver::check_inside(FdRef handle) const {
  auto path = kernel_path(handle);
  if (!path && path.code() == ENAMETOOLONG) return check_inside_by_walk(handle);
  if (!path) return path.error();
  return judge_path(path.value());
}

Result<void> Resolver::judge_path(const std::string& path) const {
  if (beneath(path, root_path_)) return {};
  // BACKING's own path may have changed (an ancestor renamed by its owner): ask again.
  auto root_now = root_path();
  if (root_now && beneath(path, root_now.value())) return {};
  return Error{ESTALE, Refusal::kMovedOut};
}

Result<void> Resolver::check_inside_by_walk(FdRef handle) const {
  // Names longer than a page: climb by "..", comparing identities with BACKING's root, and ask
  // the kernel for the name again every few levels: once what is left fits in a page, the check
  // is the same as above. Threat 44: a tenant nesting thousands of levels made every request
  // below climb them all (24-50 ms a listing at depth 4,000); the climb is bounded, and a
  // handle further than kMaxClimb levels below the last page-long name is ENAMETOOLONG, as a
  // path that long is to the kernel.
  constexpr int kMaxClimb = 256;
  constexpr int kAskEvery = 8;
  Fd up;
  FdRef here = handle;
  for (int level = 0; level < kMaxClimb; ++level) {
    auto st = sys::fstat(here);
    if (!st) return st.error();
    if (st->st_dev == root_attr_.st_dev && st->st_ino == root_attr_.st_ino) return {};
    if (level > 0 && level % kAskEvery == 0) {
      if (auto path = kernel_path(here); path) return judge_path(path.value());
    }
    auto parent = raw_openat(here, "..", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (!parent) return parent.error();
    auto above = sys::fstat(parent->ref());
    if (!above) return above.error();
    if (above->st_dev == st->st_dev && above->st_ino == st->st_ino) {  // the top: not met
      return Error{ESTALE, Refusal::kMovedOut};
    }
    up = std::move(parent.value());
    here = up.ref();
  }
  return Error{ENAMETOOLONG};
}

Result<Fd> Resolver::open_mount_table() const {
  return raw_openat(proc_fds_.ref(), "../mountinfo", O_RDONLY | O_CLOEXEC, 0);
}

Result<Fd> Resolver::reopen(FdRef handle, int flags) const {
  return open_proc_fd(handle, (flags & ~kNeverReopenFlags) | O_NOCTTY | O_NONBLOCK);
}

Result<Fd> Resolver::path_handle(FdRef open_fd) const { return open_proc_fd(open_fd, O_PATH); }

Result<ResolvedEntry> Resolver::create_exclusive(FdRef dir, const Name& name, int flags,
                                                 mode_t mode) const {
  flags = (flags & ~(O_TRUNC | O_PATH | O_TMPFILE | O_DIRECTORY)) | O_CREAT | O_EXCL | O_NONBLOCK;
  auto fd = open_beneath(dir, name, flags, mode);
  if (!fd) return fd.error();
  auto attr = stat_handle(fd->ref());
  if (!attr) return attr.error();
  if (!S_ISREG(attr->st_mode)) return Error{EIO, Refusal::kIdentityMismatch};
  return ResolvedEntry{std::move(fd.value()), attr.value()};
}

Result<void> Resolver::make_directory(FdRef dir, const Name& name, mode_t mode) const {
  if (::mkdirat(dir.get(), name.c_str(), mode) < 0) return last_error();
  return {};
}

Result<Fd> Resolver::make_unnamed(FdRef dir, mode_t mode) const {
  // "." is the held directory itself: nothing is resolved.
  return raw_openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
}

Result<void> Resolver::link_unnamed(FdRef file, FdRef dir, const Name& name) const {
  if (::linkat(proc_fds_.get(), proc_fd_name(file).data(), dir.get(), name.c_str(),
               AT_SYMLINK_FOLLOW) < 0) {
    return last_error();
  }
  return {};
}

Result<bool> Resolver::ctime_changes_after_read() const {
  // Enough rounds that a coarse clock (a tick of 1 to 10 ms) is caught within one tick: each
  // round takes a few microseconds.
  constexpr int kCtimeProbeRounds = 256;
  const std::string made = ".confinefs-ctime-probe-" + std::to_string(::getpid());
  auto name = Name::parse(made.c_str());
  if (!name) return Error{EINVAL};
  auto probe = create_exclusive(root(), name.value(), O_WRONLY, 0600);
  if (!probe) return probe.error();
  const int fd = probe->handle.get();
  int error = 0;
  bool every_change = true;
  for (int round = 0; round < kCtimeProbeRounds && every_change && error == 0; ++round) {
    struct stat before {
    }, after{};
    if (::fstat(fd, &before) < 0 || ::fchmod(fd, 0600) < 0 || ::fstat(fd, &after) < 0) {
      error = errno;
    }
    every_change = before.st_ctim.tv_sec != after.st_ctim.tv_sec ||
                   before.st_ctim.tv_nsec != after.st_ctim.tv_nsec;
  }
  (void)remove(root(), name.value(), false);
  if (error != 0) return Error{error};
  return every_change;
}

Result<bool> Resolver::folds_names() const {
  const std::string base = ".confinefs-fold-probe-" + std::to_string(::getpid()) + "-";
  // Case, then Unicode normalization (precomposed U+00E9 against e + U+0301).
  const std::pair<std::string, std::string> spellings[] = {{base + "aZ", base + "Az"},
                                                           {base + "\xc3\xa9", base + "e\xcc\x81"}};
  for (const auto& [made, other] : spellings) {
    auto name = Name::parse(made.c_str());
    auto variant = Name::parse(other.c_str());
    if (!name || !variant) return Error{EINVAL};
    auto probe = create_exclusive(root(), name.value(), O_WRONLY, 0600);
    if (!probe) return probe.error();
    auto seen = stat_child(root(), variant.value());
    (void)remove(root(), name.value(), false);
    // Found at all: nobody else makes such a name, and a store may number one file differently
    // by spelling (FUSE stores without stable inode numbers), so existence is the proof.
    if (seen) return true;
  }
  return false;
}

Result<void> Resolver::remove(FdRef dir, const Name& name, bool directory) const {
  if (::unlinkat(dir.get(), name.c_str(), directory ? AT_REMOVEDIR : 0) < 0) return last_error();
  return {};
}

Result<void> Resolver::rename(FdRef from_dir, const Name& from, FdRef to_dir, const Name& to,
                              unsigned flags) const {
  if (::renameat2(from_dir.get(), from.c_str(), to_dir.get(), to.c_str(), flags) < 0) {
    return last_error();
  }
  return {};
}

Result<std::string> Resolver::file_handle(FdRef handle) const {
  alignas(
      struct ::file_handle) unsigned char buf[sizeof(struct ::file_handle) + MAX_HANDLE_SZ] = {};
  auto* fh = reinterpret_cast<struct ::file_handle*>(buf);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(handle.get(), "", fh, &mount_id, AT_EMPTY_PATH) != 0) {
    return last_error();
  }
  std::string key(reinterpret_cast<const char*>(&root_attr_.st_dev), sizeof root_attr_.st_dev);
  key.append(reinterpret_cast<const char*>(&fh->handle_type), sizeof fh->handle_type);
  key.append(reinterpret_cast<const char*>(fh->f_handle), fh->handle_bytes);
  return key;
}

Result<void> Resolver::wait_for_directory_changes(FdRef dir, const Name& name) const {
  if (::renameat2(dir.get(), name.c_str(), dir.get(), name.c_str(), RENAME_NOREPLACE) == 0 ||
      errno == EEXIST || errno == ENOENT) {
    return {};
  }
  return last_error();
}

}  // namespace resolve
}  // namespace confinefs
