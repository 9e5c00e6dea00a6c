// DirStream: streams getdents64 over a verified directory fd (threat 18: a huge directory is
// never read whole into memory), with peek/consume so an entry that does not fit in the kernel's
// reply buffer is returned again on the next call.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::sys {

struct DirEntry {
  const char* name;  // NUL-terminated, valid until the stream moves on
  ino_t ino;
  unsigned char type;  // DT_*
  off_t next;          // cookie that resumes after this entry
};

class DirStream {
 public:
  explicit DirStream(Fd dir) : dir_(std::move(dir)) {}

  FdRef fd() const noexcept { return dir_.ref(); }
  off_t position() const noexcept { return position_; }
  // Repositions to a cookie a previous entry returned (0 = start).
  Result<void> seek(off_t cookie);
  // The entry at the position, or nullopt at the end.
  Result<std::optional<DirEntry>> peek();
  void consume();

 private:
  Fd dir_;
  off_t position_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  alignas(8) std::array<char, 16384> buf_{};
};

}  // namespace confinefs::sys
