#include "fusefs/sys/syscalls.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace confinefs::sys {
namespace {

Result<void> check(int rc) {
  if (rc < 0) return last_error();
  return {};
}

Result<size_t> check_size(ssize_t rc) {
  if (rc < 0) return last_error();
  return static_cast<size_t>(rc);
}

}  // namespace

Result<struct stat> fstat(FdRef fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return last_error();
  return st;
}

Result<uint64_t> mount_id(FdRef fd) {
  struct statx stx {};
  if (::statx(fd.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0) {
    return last_error();
  }
  if (!(stx.stx_mask & STATX_MNT_ID)) return Error{EOPNOTSUPP};
  return static_cast<uint64_t>(stx.stx_mnt_id);
}

Result<struct statvfs> fstatvfs(FdRef fd) {
  struct statvfs sv {};
  if (::fstatvfs(fd.get(), &sv) < 0) return last_error();
  return sv;
}

Result<void> fchmod(FdRef fd, mode_t mode) { return check(::fchmod(fd.get(), mode)); }
Result<void> fchown(FdRef fd, uid_t uid, gid_t gid) { return check(::fchown(fd.get(), uid, gid)); }
Result<void> ftruncate(FdRef fd, off_t size) { return check(::ftruncate(fd.get(), size)); }
Result<void> futimens(FdRef fd, const struct timespec times[2]) {
  return check(::futimens(fd.get(), times));
}
Result<void> fsync(FdRef fd, bool data_only) {
  return check(data_only ? ::fdatasync(fd.get()) : ::fsync(fd.get()));
}
Result<void> fallocate(FdRef fd, int mode, off_t offset, off_t length) {
  return check(::fallocate(fd.get(), mode, offset, length));
}

Result<off_t> lseek(FdRef fd, off_t offset, int whence) {
  off_t pos = ::lseek(fd.get(), offset, whence);
  if (pos < 0) return last_error();
  return pos;
}

Result<int> get_status_flags(FdRef fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0) return last_error();
  return flags;
}

Result<void> set_status_flags(FdRef fd, int flags) {
  return check(::fcntl(fd.get(), F_SETFL, flags));
}

Result<size_t> pread(FdRef fd, void* buf, size_t size, off_t offset) {
  return check_size(::pread(fd.get(), buf, size, offset));
}

Result<size_t> pwrite(FdRef fd, const void* buf, size_t size, off_t offset) {
  return check_size(::pwrite(fd.get(), buf, size, offset));
}

Result<size_t> copy_file_range(FdRef in, off_t in_off, FdRef out, off_t out_off, size_t len) {
  loff_t from = in_off;
  loff_t to = out_off;
  return check_size(::copy_file_range(in.get(), &from, out.get(), &to, len, 0));
}

Result<size_t> getdents(FdRef dir, void* buf, size_t size) {
  return check_size(::syscall(SYS_getdents64, dir.get(), buf, size));
}

Result<size_t> fgetxattr(FdRef fd, const char* name, void* value, size_t size) {
  return check_size(::fgetxattr(fd.get(), name, value, size));
}

Result<void> fsetxattr(FdRef fd, const char* name, const void* value, size_t size, int flags) {
  return check(::fsetxattr(fd.get(), name, value, size, flags));
}

Result<size_t> flistxattr(FdRef fd, char* list, size_t size) {
  return check_size(::flistxattr(fd.get(), list, size));
}

Result<std::vector<char>> flistxattr_all(FdRef fd) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto need = flistxattr(fd, nullptr, 0);
    if (!need) return need.error();
    std::vector<char> names(need.value());
    if (names.empty()) return names;
    auto got = flistxattr(fd, names.data(), names.size());
    if (got) {
      names.resize(got.value());
      return names;
    }
    if (got.code() != ERANGE) return got.error();  // grew in between: ask again
  }
  return Error{ERANGE};
}

Result<void> fremovexattr(FdRef fd, const char* name) {
  return check(::fremovexattr(fd.get(), name));
}

Result<Fd> dup(FdRef fd) {
  int copy = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return last_error();
  return Fd(copy);
}

Result<Fd> memfd(const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return last_error();
  return Fd(fd);
}

Result<Pipe> pipe(int flags) {
  int ends[2];
  if (::pipe2(ends, flags) != 0) return last_error();
  return Pipe{Fd(ends[0]), Fd(ends[1])};
}

}  // namespace confinefs::sys
