// Content I/O on verified fds: read, write, fsync, fallocate, lseek, copy_file_range.
// The fd was verified when the file was opened and stays bound to that inode whatever happens to
// its name, so per-call re-verification would add a syscall and close no window: a name added
// later (say, a hardlink) can only be made by someone who can already write the inode.
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
Result<void> admit_write(Filesystem& fs, off_t offset, size_t length) {
  const auto& limits = fs.policy()->limits();
  if (limits.max_file_size && static_cast<uint64_t>(offset) + length > *limits.max_file_size) {
    return Error{EFBIG};
  }
  return {};
}

Result<size_t> read(OpenFile& file, void* buf, size_t size, off_t offset) {
  return sys::pread(file.fd.ref(), buf, size, offset);
}

Result<size_t> write(Filesystem& fs, OpenFile& file, const void* buf, size_t size, off_t offset) {
  if (auto ok = admit_write(fs, offset, size); !ok) return ok.error();
  return sys::pwrite(file.fd.ref(), buf, size, offset);
}

Result<void> fsync(OpenFile& file, bool data_only) { return sys::fsync(file.fd.ref(), data_only); }

Result<void> fallocate(Filesystem& fs, OpenFile& file, int mode, off_t offset, off_t length) {
  if (auto ok = admit_write(fs, offset, static_cast<size_t>(length)); !ok) return ok.error();
  return sys::fallocate(file.fd.ref(), mode, offset, length);
}

Result<off_t> lseek(OpenFile& file, off_t offset, int whence) {
  return sys::lseek(file.fd.ref(), offset, whence);
}

Result<size_t> copy_file_range(Filesystem& fs, OpenFile& in, off_t in_off, OpenFile& out,
                               off_t out_off, size_t len) {
  if (auto ok = admit_write(fs, out_off, len); !ok) return ok.error();
  return sys::copy_file_range(in.fd.ref(), in_off, out.fd.ref(), out_off, len);
}

}  // namespace confinefs::ops
