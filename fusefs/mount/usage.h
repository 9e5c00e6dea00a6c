// Usage: the bytes and inodes a tenant occupies, for limits.quota_bytes / quota_inodes.
// Threat (limits): a tenant filling the host's disk through the mount.
// Accounting: a scan at start (and on each reload that keeps a quota) walks the backing tree the
// resolver's way, one component at a time from held fds; after that, operations through the
// mount add their deltas. Bytes are apparent sizes (st_size) of regular files plus, for files and
// directories, every extended attribute's name and value (xattr_bytes), inodes are the regular
// files and directories below the root, one per name. Changes made by outside
// processes are seen at the next scan only (docs/policy.md, "Quotas").
// Invariant: a size-changing operation holds the stripe lock of its inode from the size read
// before it to the size read after it, so concurrent writes to one file never double-count.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fusefs/lock_order.h"
#include "fusefs/nodes/node.h"
#include "fusefs/resolve/resolver.h"
#include "fusefs/result.h"

namespace confinefs {
inline namespace mount {

struct UsageTotals {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
  // Threat 44: false when the scan could not see everything (an entry it may not read, a
  // directory listing it cannot open): its totals are then a floor, never grounds to lower a
  // live counter (Usage::start). `missed` says what was missed first.
  bool complete = true;
  std::string missed{};
};

class Usage {
 public:
  // Starts (or restarts) accounting from totals; stop() ends it and every check then passes. A
  // scan that was not complete only ever raises a live counter.
  void start(const UsageTotals& totals) noexcept;
  void stop() noexcept { tracking_.store(false, std::memory_order_release); }
  bool tracking() const noexcept { return tracking_.load(std::memory_order_acquire); }
  UsageTotals totals() const noexcept;

  // Takes n bytes when the total stays within limit (or there is no limit); false takes nothing.
  bool take_bytes(uint64_t n, std::optional<uint64_t> limit) noexcept;
  // Adds a measured difference; the total never goes below zero.
  void adjust_bytes(int64_t delta) noexcept;
  bool take_inode(std::optional<uint64_t> limit) noexcept;
  void give_inode() noexcept;

  // Serializes size-changing operations on one inode while accounting.
  using FileLock = OrderedMutex<LockLevel::kUsageFile>;
  FileLock& file_lock(const InodeKey& key) noexcept;

 private:
  static bool take(std::atomic<uint64_t>& counter, uint64_t n,
                   std::optional<uint64_t> limit) noexcept;
  std::atomic<bool> tracking_{false};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> inodes_{0};
  std::array<FileLock, 64> stripes_;
};

// Bytes the extended attributes of the file behind fd take: every name (with its NUL) and value.
Result<uint64_t> xattr_bytes(FdRef fd);
// What one attribute costs: its name, the NUL after it, its value.
inline uint64_t xattr_cost(std::string_view name, size_t value_size) {
  return name.size() + 1 + value_size;
}

// Directory levels held open at once; a directory deeper than that is kept as an O_PATH handle
// and scanned afterwards, so no depth goes uncounted (a tenant nesting its data below any fixed
// depth hid it from the quota) while fds stay bounded.
inline constexpr size_t kMaxScanDepth = 1024;
// Directories kept for later before the scan gives up on completeness (fds stay bounded).
inline constexpr size_t kMaxDeferred = 4096;

// Walks everything the mount could show (regular files and directories on the backing mount;
// symlinks, special files and foreign mounts are skipped, as lookup would refuse them).
Result<UsageTotals> scan_usage(const Resolver& resolver, size_t max_depth = kMaxScanDepth);

}  // namespace mount
}  // namespace confinefs
