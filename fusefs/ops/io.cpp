// Content I/O on verified fds: write, fsync, fallocate, lseek, copy_file_range (reads are
// answered by the FUSE layer straight from the open fd).
// The fd was verified when the file was opened and stays bound to that inode whatever happens to
// its name, so per-call re-verification would add a syscall and close no window: a name added
// later (say, a hardlink) can only be made by someone who can already write the inode.
// Growth passes the policy's limits (growth.h).
#include <fcntl.h>
#include <linux/falloc.h>

#include "fusefs/guards/growth.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {

namespace {

Result<guards::Growth> growth_of_write(const Request& r, OpenFile& file, off_t offset,
                                       size_t length) {
  if (file.append) {
    // The host puts an O_APPEND write at the file's real end, not at the offset the kernel sends
    // (its cached size, stale when an outside process grew the file): judge it there.
    auto now = sys::fstat(file.fd.ref());
    if (!now) return now.error();
    uint64_t end = static_cast<uint64_t>(now->st_size) + length;
    if (auto ok = guards::check_file_size(r, end); !ok) return ok.error();
    return guards::begin_growth(r, file.fd.ref(), *file.node,
                                [length](uint64_t) { return length; });
  }
  uint64_t end = static_cast<uint64_t>(offset) + length;
  if (auto ok = guards::check_file_size(r, end); !ok) return ok.error();
  return guards::begin_growth(r, file.fd.ref(), *file.node, guards::grows_to(end));
}

}  // namespace

Outcome<guards::Growth> admit_write(const Request& r, OpenFile& file, off_t offset, size_t length) {
  enter(r, *file.node);
  return answer(r, growth_of_write(r, file, offset, length));
}

// The kernel drops a file's cached pages before an O_DIRECT write but, for an asynchronous
// one, not after it completes: a reader that cached a page meanwhile keeps the old data. A later
// open would let the kernel keep that page (cache=full always, cache=auto when the content stamp
// is as at the last open, which an open after the write recorded), so the next open drops the
// pages (xfstests generic/451).
void wrote(const OpenFile& file) {
  if (file.direct) file.node->mark_pages_stale();
}

Outcome<size_t> write(const Request& r, OpenFile& file, const void* buf, size_t size,
                      off_t offset) {
  enter(r, *file.node);
  // An append lands at the file's end whatever the offset: made twice, it would land twice.
  if (file.append) {
    auto fate = append_fate(r, file, buf, size);
    if (!fate) return refused<size_t>(r, fate.error());
    if (fate.value() == Fate::kHappened) {  // the count it wrote, when it recorded one
      return answer(r, Result<size_t>(r.past->done ? static_cast<size_t>(r.past->result) : size));
    }
  }
  auto growth = growth_of_write(r, file, offset, size);
  if (!growth) return refused<size_t>(r, growth.error());
  if (file.append) begin_size_change(r, file);
  auto n = sys::pwrite(file.fd.ref(), buf, size, offset);
  if (n) wrote(file);
  return answer(r, std::move(n));
}

Result<void> fsync(OpenFile& file, bool data_only) { return sys::fsync(file.fd.ref(), data_only); }

namespace {

// What a fallocate mode can add to the file's size. Preallocation beyond the end without
// changing the size (KEEP_SIZE alone) takes disk space that apparent sizes do not show, so it
// is refused while a byte quota is enforced.
Result<uint64_t> fallocate_growth(const Request& r, int mode, uint64_t end, uint64_t length,
                                  uint64_t size) {
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE)) return uint64_t{0};
  if (mode & FALLOC_FL_INSERT_RANGE) return length;
  if (mode & FALLOC_FL_KEEP_SIZE) {
    if (r.fs.usage().tracking() && r.policy->limits().quota_bytes) return Error{EOPNOTSUPP};
    return uint64_t{0};
  }
  return end > size ? end - size : 0;
}

Result<void> allocate(const Request& r, OpenFile& file, int mode, off_t offset, off_t length) {
  // Collapsing or inserting a range moves the file's end: made twice, it would move it twice.
  if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
    auto fate = shift_fate(r, file, mode, length);
    if (!fate || fate.value() == Fate::kHappened) return fate ? Result<void>{} : fate.error();
    begin_size_change(r, file);
  }
  uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE))) {
    if (auto ok = guards::check_file_size(r, end); !ok) return ok.error();
  }
  auto probe = fallocate_growth(r, mode, end, static_cast<uint64_t>(length), 0);
  if (!probe) return probe.error();
  return guards::with_growth(
      r, file.fd.ref(), *file.node,
      [&](uint64_t size) {
        auto g = fallocate_growth(r, mode, end, static_cast<uint64_t>(length), size);
        return g ? g.value() : 0;
      },
      [&] { return sys::fallocate(file.fd.ref(), mode, offset, length); });
}

Result<size_t> copy_range(const Request& r, OpenFile& in, off_t in_off, OpenFile& out,
                          off_t out_off, size_t len) {
  uint64_t end = static_cast<uint64_t>(out_off) + len;
  if (auto ok = guards::check_file_size(r, end); !ok) return ok.error();
  return guards::with_growth(r, out.fd.ref(), *out.node, guards::grows_to(end), [&] {
    return sys::copy_file_range(in.fd.ref(), in_off, out.fd.ref(), out_off, len);
  });
}

}  // namespace

Outcome<void> fallocate(const Request& r, OpenFile& file, int mode, off_t offset, off_t length) {
  enter(r, *file.node);
  return answer(r, allocate(r, file, mode, offset, length));
}

Result<off_t> lseek(OpenFile& file, off_t offset, int whence) {
  return sys::lseek(file.fd.ref(), offset, whence);
}

Outcome<size_t> copy_file_range(const Request& r, OpenFile& in, off_t in_off, OpenFile& out,
                                off_t out_off, size_t len) {
  enter(r, *out.node);  // the limits are the destination's
  return answer(r, copy_range(r, in, in_off, out, out_off, len));
}

}  // namespace confinefs::ops
