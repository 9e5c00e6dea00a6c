#include "fusefs/sys/dir_stream.h"

#include <dirent.h>

#include <cstring>

#include "fusefs/sys/syscalls.h"

namespace confinefs::sys {
namespace {

// The kernel's struct linux_dirent64 layout, as getdents64 writes it.
struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

}  // namespace

Result<void> DirStream::seek(off_t cookie) {
  auto pos = sys::lseek(dir_.ref(), cookie, SEEK_SET);
  if (!pos) return pos.error();
  position_ = cookie;
  begin_ = end_ = 0;
  return {};
}

Result<std::optional<DirEntry>> DirStream::peek() {
  if (begin_ >= end_) {
    auto n = sys::getdents(dir_.ref(), buf_.data(), buf_.size());
    if (!n) return n.error();
    begin_ = 0;
    end_ = n.value();
    if (end_ == 0) return std::optional<DirEntry>();
  }
  const auto* d = reinterpret_cast<const LinuxDirent64*>(buf_.data() + begin_);
  return std::optional<DirEntry>(
      DirEntry{d->d_name, static_cast<ino_t>(d->d_ino), d->d_type, static_cast<off_t>(d->d_off)});
}

void DirStream::consume() {
  if (begin_ >= end_) return;
  const auto* d = reinterpret_cast<const LinuxDirent64*>(buf_.data() + begin_);
  position_ = static_cast<off_t>(d->d_off);
  begin_ += d->d_reclen;
}

}  // namespace confinefs::sys
