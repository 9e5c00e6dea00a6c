#include "cmd/backing_mount.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>

#include "cmd/control.h"

namespace confinefs::cmd {
namespace {

// Whether dir is the root of the mount it is on (Linux 5.8); EOPNOTSUPP when the kernel cannot
// say, which `require` treats as "not".
Result<bool> is_mount_root(FdRef dir) {
  struct statx stx {};
  if (::statx(dir.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO, &stx) != 0) {
    return last_error();
  }
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return Error{EOPNOTSUPP};
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

// Binds the directory onto itself. The clone is detached until move_mount attaches it on the very
// directory held by fd (no path is resolved again). The daemon itself keeps serving from the
// directory underneath (its *at() calls start at its own fds, which never cross the mount on
// top): Landlock judges a directory renamed out of BACKING by walking up from it on the mount the
// daemon's fd is on, and on a bind whose root it has left, the walk would end at the bind's mount
// point, i.e. "beneath BACKING" (measured on 6.18: the rename-out defence lost, threat 7).
Result<Fd> bind_onto_itself(FdRef dir) {
  Fd tree(::open_tree(dir.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree.valid()) return last_error();
  if (::move_mount(tree.get(), "", dir.get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return last_error();
  }
  return tree;  // now the attached bind's root
}

// BACKING's own directory underneath a bind onto itself (a predecessor's: the bind outlives the
// daemon that made it). Serving from the bind would lose the rename-out defence (above), so the
// directory is found in a private clone of its parent's mount, which carries no mounts on top,
// and accepted only if it is the very directory the bind shows. Such a clone is detached: mounts
// made later inside BACKING on the host are not seen through it either.
Result<Fd> directory_underneath(const std::string& path, FdRef top) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // a trailing slash
  std::string name = p.filename().string();
  std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
  if (name.empty() || name == "." || name == "..") return Error{EINVAL};
  Fd clone(::open_tree(AT_FDCWD, parent.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!clone.valid()) return last_error();
  Fd under(::openat(clone.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!under.valid()) return last_error();
  struct stat a {
  }, b{};
  if (::fstat(under.get(), &a) != 0 || ::fstat(top.get(), &b) != 0) return last_error();
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return Error{ENOENT};  // a mount of its own
  auto root = is_mount_root(under.ref());
  if (!root || root.value()) return Error{ENOENT};
  return under;
}

}  // namespace

Result<Fd> open_backing_dir(const std::string& path) {
  Fd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return last_error();
  return dir;
}

Result<BackingRoot> make_own_mount(Fd dir, const std::string& path, BackingMountMode mode) {
  auto root = is_mount_root(dir.ref());
  if (root && root.value()) {
    if (auto under = directory_underneath(path, dir.ref())) {
      spdlog::info("{} is bound onto itself already; serving from the directory underneath", path);
      return BackingRoot{std::move(under.value()), BackingMountState::kOwnMount, Fd{}};
    }
    return BackingRoot{std::move(dir), BackingMountState::kOwnMount, Fd{}};
  }
  if (mode == BackingMountMode::kOff)
    return BackingRoot{std::move(dir), BackingMountState::kNone, Fd{}};
  auto bound = root ? bind_onto_itself(dir.ref()) : Result<Fd>(root.error());
  if (bound) {
    spdlog::info("bound {} onto itself: links and renames from outside now fail with EXDEV", path);
    return BackingRoot{std::move(dir), BackingMountState::kMadeMount, std::move(bound.value())};
  }
  if (mode == BackingMountMode::kRequire) {
    spdlog::error("backing_mount=require: cannot make {} a mount of its own: {}", path,
                  std::strerror(bound.code()));
    return bound.error();
  }
  spdlog::warn(
      "cannot make {} a mount of its own ({}): an outside process racing hardlinks in and out "
      "of a name can win against the link-count checks; make BACKING a mount (docs/deployment.md) "
      "or start as root",
      path, std::strerror(bound.code()));
  return BackingRoot{std::move(dir), BackingMountState::kNone, Fd{}};
}

Result<void> remove_bind(const Fd& bind) {
  if (!bind.valid()) return Error{EBADF};
  // The magic link names exactly the mount this fd is the root of.
  std::string self = "/proc/self/fd/" + std::to_string(bind.get());
  if (::umount2(self.c_str(), MNT_DETACH) != 0) return last_error();
  return {};
}

namespace {

// path (absolute) walked from / one component at a time, following no link (O_NOFOLLOW at each
// step: no openat2 needed, which a unit's syscall filter may refuse).
Fd open_without_links(const std::string& path) {
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  size_t at = 0;
  while (dir.valid() && at < path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(at, end - at);
    at = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return Fd();
    dir = Fd(::openat(dir.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  return dir;
}

std::string lock_path(dev_t dev, ino_t ino) {
  return control_dir() + "/backing-" + std::to_string(dev) + "-" + std::to_string(ino) + ".lock";
}

}  // namespace

Result<Fd> hold_backing(const struct stat& backing) {
  if (auto ok = prepare_control_dir(); !ok) return ok.error();
  Fd lock(::open(lock_path(backing.st_dev, backing.st_ino).c_str(),
                 O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock.valid()) return last_error();
  if (::flock(lock.get(), LOCK_SH) != 0) return last_error();
  return lock;
}

std::string release_bind(const MountRecord& record, const Fd& bind) {
  if (record.bind.id == 0 || record.backing.empty()) return "";
  // Another daemon serving BACKING holds the lock (taken before it looked at BACKING's mount):
  // the bind is its too. A lock file that cannot be opened is no proof of the contrary.
  Fd lock(::open(lock_path(record.backing_dev, record.backing_ino).c_str(),
                 O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!lock.valid() && errno != ENOENT) {
    return "the bind of " + record.backing + " stays: its lock: " + std::strerror(errno);
  }
  if (lock.valid() && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return "the bind of " + record.backing + " stays: another daemon serves it";
  }
  // The bind's own root when the caller holds it; else the recorded path, walked without
  // following links, and only the very mount recorded (unique id, and BACKING's inode at its
  // root: mountinfo ids are reused).
  Fd top;
  if (bind.valid()) {
    top = Fd(::fcntl(bind.get(), F_DUPFD_CLOEXEC, 3));
  } else {
    top = open_without_links(record.backing);
  }
  if (!top.valid()) return "the bind of " + record.backing + " is gone";
  MountIdentity now = statx_mount_ids(top.get(), "", AT_EMPTY_PATH);
  struct stat st {};
  if (now.id != record.bind.id ||
      (record.bind.unique_id != 0 && now.unique_id != record.bind.unique_id) ||
      ::fstat(top.get(), &st) != 0 || st.st_dev != record.backing_dev ||
      st.st_ino != record.backing_ino) {
    return "the bind of " + record.backing + " is gone (another mount is there)";
  }
  if (auto ok = remove_bind(top); !ok) {
    return "cannot remove the bind of " + record.backing + ": " + std::strerror(ok.code());
  }
  return "removed the bind of " + record.backing;
}

const char* backing_mount_name(BackingMountState s) noexcept {
  switch (s) {
    case BackingMountState::kOwnMount: return "own";
    case BackingMountState::kMadeMount: return "bound";
    case BackingMountState::kExposed: return "exposed";
    case BackingMountState::kNone: return "none";
  }
  return "?";
}

}  // namespace confinefs::cmd
