#include "cmd/mountpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "fusefs/sys/fd.h"

namespace confinefs::cli {
namespace {

bool same(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

std::string check_mountpoint(const std::string& mountpoint, const struct stat& backing) {
  if (mountpoint.starts_with("/dev/fd/")) return "";
  Fd dir(::open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    return "mountpoint " + mountpoint + ": " + std::strerror(errno);
  }
  // Walk up through ".." to the filesystem root, comparing identities with BACKING.
  for (int depth = 0; depth < 4096; ++depth) {
    struct stat here {};
    if (::fstat(dir.get(), &here) < 0)
      return "mountpoint " + mountpoint + ": " + std::strerror(errno);
    if (same(here, backing)) {
      return depth == 0 ? "mountpoint is BACKING itself" : "mountpoint is inside BACKING";
    }
    Fd up(::openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up.valid()) return "";
    struct stat parent {};
    if (::fstat(up.get(), &parent) < 0 || same(parent, here)) return "";
    dir = std::move(up);
  }
  return "";
}

}  // namespace confinefs::cli
