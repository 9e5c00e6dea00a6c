#include "cmd/mountpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "fusefs/fd.h"

namespace confinefs::cmd {
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

Phase<Fd> check_mountpoint(const MountPlace& place, const struct stat& backing) {
  const std::string& where = place.canonical();
  // The last component is never followed: a MOUNTPOINT that is a symlink to another tenant's
  // live mount would put this mount on top of it, past the live-mount check, which looked at
  // the link (MountPlace drops trailing slashes, which would make the kernel follow it anyway).
  auto dir = place.open_top();
  if (!dir && dir.code() == ELOOP) {
    return Failure::usage("mountpoint " + where + " is a symbolic link; give the real directory");
  }
  if (!dir) return Failure::usage(with_errno("mountpoint " + where, dir.code()));
  std::string why = inside_backing(dir->ref(), backing);
  if (!why.empty()) return Failure::usage("mountpoint " + where + " " + why);
  return std::move(dir.value());
}

}  // namespace confinefs::cmd
