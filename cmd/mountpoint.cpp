#include "cmd/mountpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "fusefs/sys/fd.h"

namespace confinefs::cli {
namespace {

bool same(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Walks up through ".." to the filesystem root, comparing identities with BACKING; "" when the
// directory is not BACKING or inside it.
std::string inside_backing(FdRef start, const struct stat& backing) {
  Fd dir;
  FdRef here_fd = start;
  for (int depth = 0; depth < 4096; ++depth) {
    struct stat here {};
    if (::fstat(here_fd.get(), &here) < 0) return std::strerror(errno);
    if (same(here, backing)) return depth == 0 ? "is BACKING itself" : "is inside BACKING";
    Fd up(::openat(here_fd.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up.valid()) return "";
    struct stat parent {};
    if (::fstat(up.get(), &parent) < 0 || same(parent, here)) return "";
    dir = std::move(up);
    here_fd = dir.ref();
  }
  return "";
}

}  // namespace

CheckedMountpoint check_mountpoint(const std::string& mountpoint, const struct stat& backing) {
  if (mountpoint.starts_with("/dev/fd/")) return {};
  // The last component is never followed (a trailing slash would make the kernel follow it
  // anyway, so it is dropped): a MOUNTPOINT that is a symlink to another tenant's live mount
  // would put this mount on top of it, past the live-mount check, which looked at the link.
  std::string path = mountpoint;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  Fd dir(::open(path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    struct stat st {};
    if (errno == ENOTDIR && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return {"mountpoint " + mountpoint + " is a symbolic link; give the real directory", Fd()};
    }
    return {"mountpoint " + mountpoint + ": " + std::strerror(errno), Fd()};
  }
  std::string why = inside_backing(dir.ref(), backing);
  if (!why.empty()) why = "mountpoint " + mountpoint + " " + why;
  return {why, std::move(dir)};
}

}  // namespace confinefs::cli
