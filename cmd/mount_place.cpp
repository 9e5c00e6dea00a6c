#include "cmd/mount_place.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace confinefs::cmd {

namespace {

// The components of an absolute path, "." dropped and ".." taken back lexically (nothing is
// followed, so there is no link for ".." to climb out of).
std::vector<std::string> components(const std::string& absolute) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at < absolute.size()) {
    size_t end = absolute.find('/', at);
    if (end == std::string::npos) end = absolute.size();
    std::string part = absolute.substr(at, end - at);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    at = end + 1;
  }
  return parts;
}

// Whether some user other than root can rename or replace dir's entry `entry` (threat 43): it
// owns dir (and may chmod it), or dir is writable by group or others without the sticky bit
// that would keep them off a root-owned entry.
bool others_can_replace(const struct stat& dir, const struct stat& entry) {
  if (dir.st_uid != 0) return true;
  if (!(dir.st_mode & (S_IWGRP | S_IWOTH))) return false;
  return !(dir.st_mode & S_ISVTX) || entry.st_uid != 0;
}

// Owner, mode and type of dir/name without asking any filesystem (AT_STATX_DONT_SYNC): the last
// component may be a FUSE mount whose daemon is this very process, not serving yet, or one that
// never answers.
int stat_no_sync(int dir, const char* name, struct stat& st) {
  struct statx stx {};
  int flags =
      AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC | (*name ? 0 : AT_EMPTY_PATH);
  if (::statx(dir, name, flags, STATX_TYPE | STATX_MODE | STATX_UID, &stx) != 0) return -1;
  st.st_mode = stx.stx_mode;
  st.st_uid = stx.stx_uid;
  return 0;
}

std::string joined(const std::vector<std::string>& parts, size_t n) {
  std::string path;
  for (size_t i = 0; i < n; ++i) path += "/" + parts[i];
  return path.empty() ? "/" : path;
}

}  // namespace

Phase<MountPlace> MountPlace::open(const std::string& path) {
  if (path.empty() || path.starts_with("/dev/fd/")) {
    return Failure::usage(with_errno(path.empty() ? "mountpoint" : path, EINVAL));
  }
  std::string absolute = path;
  if (absolute.front() != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return Failure::usage(with_errno(path, errno));
    absolute = std::string(cwd) + "/" + path;
  }
  std::vector<std::string> parts = components(absolute);
  if (parts.empty()) return Failure::usage(path + ": / cannot be a mountpoint");
  const bool as_root = ::geteuid() == 0;
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Failure::usage(with_errno("/", errno));
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    struct stat dir_st {
    }, entry{};
    if (stat_no_sync(dir.get(), "", dir_st) != 0) return Failure::usage(with_errno(path, errno));
    if (stat_no_sync(dir.get(), parts[i].c_str(), entry) != 0) {
      // The last component is looked at by each step (and may be made later): judged as an
      // entry another user could make.
      if (!last || errno != ENOENT) {
        return Failure::usage(with_errno(path + ": " + joined(parts, i + 1), errno));
      }
      entry.st_uid = static_cast<uid_t>(-1);
    }
    if (as_root && others_can_replace(dir_st, entry)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", dir_st.st_mode & 07777);
      return Failure::usage(path + ": " + joined(parts, i) + " (owner uid " +
                            std::to_string(dir_st.st_uid) + ", mode " + mode +
                            ") lets another user than root rename or replace " +
                            joined(parts, i + 1) +
                            "; a mountpoint for confinefs run as root must sit below "
                            "directories only root can change");
    }
    if (last) break;
    if (S_ISLNK(entry.st_mode)) {
      return Failure::usage(path + ": " + joined(parts, i + 1) +
                            " is a symbolic link; give the real path");
    }
    Fd next(::openat(dir.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return Failure::usage(with_errno(path + ": " + joined(parts, i + 1), errno));
    dir = std::move(next);
  }
  std::string name = parts.back();
  char real[PATH_MAX + 1];
  std::string link = "/proc/self/fd/" + std::to_string(dir.get());
  ssize_t n = ::readlink(link.c_str(), real, PATH_MAX);
  if (n <= 0 || real[0] != '/') return Failure::usage(with_errno(path, n < 0 ? errno : ENOENT));
  std::string canonical(real, static_cast<size_t>(n));
  canonical = canonical == "/" ? "/" + name : canonical + "/" + name;
  return MountPlace(std::move(dir), std::move(name), std::move(canonical));
}

Result<Fd> MountPlace::open_top() const {
  Fd top(::openat(parent_.get(), name_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (top.valid()) return top;
  Error e = last_error();
  // O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR; say what it really is.
  struct stat st {};
  if (e.code == ENOTDIR && stat_no_sync(parent_.get(), name_.c_str(), st) == 0 &&
      S_ISLNK(st.st_mode)) {
    return Error{ELOOP};
  }
  return e;
}

Result<MountPlace> MountPlace::dup() const {
  Fd copy(::fcntl(parent_.get(), F_DUPFD_CLOEXEC, 3));
  if (!copy.valid()) return last_error();
  return MountPlace(std::move(copy), name_, canonical_);
}

Result<void> MountPlace::move_parent_to(int fd) {
  if (parent_.get() == fd) return {};
  if (::dup2(parent_.get(), fd) < 0) return last_error();
  parent_ = Fd(fd);
  return {};
}

}  // namespace confinefs::cmd
