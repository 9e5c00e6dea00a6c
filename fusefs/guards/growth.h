// Growth limits on content changes (limits.max_file_size, limits.quota_bytes).
// Threat (limits): a tenant filling the host's disk through the mount. Every write,
// truncate, fallocate and copy_file_range through the mount passes here: the growth it may cause
// is taken from the quota before the call (EDQUOT when it does not fit), and the size measured
// after the call settles the difference (see usage.h for what is counted).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "fusefs/mount/filesystem.h"
#include "fusefs/mount/request.h"

namespace confinefs::guards {

// EFBIG (audited) when a file would end past limits.max_file_size.
Result<void> check_file_size(const Request& r, uint64_t new_end);

// Bytes taken from the quota for one size-changing call, settled when it is destroyed (after the
// call): the file's size is read again and the difference to what was taken goes back. Holds the
// inode's stripe lock meanwhile. Empty (settles nothing) when no quota is enforced.
class Growth {
 public:
  Growth() = default;
  Growth(Filesystem* fs, FdRef fd, std::unique_lock<Usage::FileLock> lock, uint64_t size_before,
         uint64_t taken)
      : fs_(fs), fd_(fd), lock_(std::move(lock)), size_before_(size_before), taken_(taken) {}
  Growth(Growth&& o) noexcept
      : fs_(std::exchange(o.fs_, nullptr)),
        fd_(o.fd_),
        lock_(std::move(o.lock_)),
        size_before_(o.size_before_),
        taken_(o.taken_) {}
  Growth& operator=(Growth&&) = delete;
  ~Growth();

 private:
  Filesystem* fs_ = nullptr;
  FdRef fd_{-1};
  std::unique_lock<Usage::FileLock> lock_;
  uint64_t size_before_ = 0;
  uint64_t taken_ = 0;
};

// most_growth(size) bounds the growth the call can cause from the file's current size.
Result<Growth> begin_growth(const Request& r, FdRef fd, const Node& node,
                            const std::function<uint64_t(uint64_t)>& most_growth);

template <typename Op>
auto with_growth(const Request& r, FdRef fd, const Node& node,
                 const std::function<uint64_t(uint64_t)>& most_growth, Op op) -> decltype(op()) {
  auto growth = begin_growth(r, fd, node, most_growth);
  if (!growth) return growth.error();
  return op();  // settled by ~Growth after op
}

// The growth bound of a write or extension ending at `end`.
inline std::function<uint64_t(uint64_t)> grows_to(uint64_t end) {
  return [end](uint64_t size) { return end > size ? end - size : 0; };
}

}  // namespace confinefs::guards
