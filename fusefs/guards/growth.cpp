#include "fusefs/guards/growth.h"

#include <sys/stat.h>

#include "fusefs/guards/audit.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::guards {

Result<void> check_file_size(const Request& r, uint64_t new_end) {
  const auto& limits = r.policy->limits();
  if (!limits.max_file_size || new_end <= *limits.max_file_size) return {};
  return over_limit(r, EFBIG, "max_file_size");
}

Growth::~Growth() {
  if (fs_ == nullptr) return;
  auto after = sys::fstat(fd_);
  // An unreadable size after the call: keep what was taken (over-counting is the safe side).
  int64_t grew =
      after ? after->st_size - static_cast<int64_t>(size_before_) : static_cast<int64_t>(taken_);
  fs_->usage().adjust_bytes(grew - static_cast<int64_t>(taken_));
}

Result<Growth> begin_growth(const Request& r, FdRef fd, const Node& node,
                            const std::function<uint64_t(uint64_t)>& most_growth) {
  Filesystem& fs = r.fs;
  if (!fs.usage().tracking()) return Growth();
  std::unique_lock lock(fs.usage().file_lock(node.key()));
  auto before = sys::fstat(fd);
  if (!before) return before.error();
  uint64_t size = static_cast<uint64_t>(before->st_size);
  uint64_t want = most_growth(size);
  if (!fs.usage().take_bytes(want, r.policy->limits().quota_bytes)) {
    return over_limit(r, EDQUOT, "quota_bytes");
  }
  return Growth(&fs, fd, std::move(lock), size, want);
}

}  // namespace confinefs::guards
