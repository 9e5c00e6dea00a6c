// Thin wrappers over descriptor-based syscalls: each returns a Result built from errno read
// immediately after the call. None of them takes a path: everything that names a host entry lives
// in fusefs/resolve/, so this file cannot be used to reach outside the backing directory.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::sys {

Result<struct stat> fstat(FdRef fd);
// Mount id of the file behind fd (statx STATX_MNT_ID); compared with the root's to refuse
// crossings.
Result<uint64_t> mount_id(FdRef fd);
Result<struct statvfs> fstatvfs(FdRef fd);

Result<void> fchmod(FdRef fd, mode_t mode);
Result<void> fchown(FdRef fd, uid_t uid, gid_t gid);
Result<void> ftruncate(FdRef fd, off_t size);
Result<void> futimens(FdRef fd, const struct timespec times[2]);
Result<void> fsync(FdRef fd, bool data_only);
Result<void> fallocate(FdRef fd, int mode, off_t offset, off_t length);
Result<off_t> lseek(FdRef fd, off_t offset, int whence);
Result<int> get_status_flags(FdRef fd);
Result<void> set_status_flags(FdRef fd, int flags);

Result<size_t> pread(FdRef fd, void* buf, size_t size, off_t offset);
Result<size_t> pwrite(FdRef fd, const void* buf, size_t size, off_t offset);
Result<size_t> copy_file_range(FdRef in, off_t in_off, FdRef out, off_t out_off, size_t len);
// Raw getdents64 into buf; 0 bytes means end of directory.
Result<size_t> getdents(FdRef dir, void* buf, size_t size);

Result<size_t> fgetxattr(FdRef fd, const char* name, void* value, size_t size);
Result<void> fsetxattr(FdRef fd, const char* name, const void* value, size_t size, int flags);
Result<size_t> flistxattr(FdRef fd, char* list, size_t size);
// The whole attribute name list (NUL-separated), read again when it grows between the size query
// and the read.
Result<std::vector<char>> flistxattr_all(FdRef fd);
Result<void> fremovexattr(FdRef fd, const char* name);

Result<Fd> dup(FdRef fd);
// An anonymous memory file (close-on-exec), for state kept in the daemon's supervisor.
Result<Fd> memfd(const char* name);
// A pipe's two ends, each owned (flags: O_CLOEXEC, O_NONBLOCK as pipe2(2) takes them).
struct Pipe {
  Fd read, write;
};
Result<Pipe> pipe(int flags);

}  // namespace confinefs::sys
