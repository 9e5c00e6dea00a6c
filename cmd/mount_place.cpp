#include "cmd/mount_place.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace confinefs::cmd {

Result<MountPlace> MountPlace::open(const std::string& path) {
  if (path.empty() || path.starts_with("/dev/fd/")) return Error{EINVAL};
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.find_last_of('/');
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  if (name == "." || name == ".." || p == "/") {
    // No last component to hold it by: name the directory by its parent, as the kernel does.
    char real[PATH_MAX];
    if (::realpath(p.c_str(), real) == nullptr) return last_error();
    return open(real);
  }
  Fd dir(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return last_error();
  char real[PATH_MAX + 1];
  std::string link = "/proc/self/fd/" + std::to_string(dir.get());
  ssize_t n = ::readlink(link.c_str(), real, PATH_MAX);
  if (n <= 0 || real[0] != '/') return Error{n < 0 ? errno : ENOENT};
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
  if (e.code == ENOTDIR && ::fstatat(parent_.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
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
