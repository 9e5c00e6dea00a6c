#include "fusefs/mount/usage.h"

#include <dirent.h>
#include <fcntl.h>

#include <memory>
#include <vector>

#include "fusefs/sys/dir_stream.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace mount {

void Usage::start(UsageTotals totals) noexcept {
  bytes_.store(totals.bytes, std::memory_order_relaxed);
  inodes_.store(totals.inodes, std::memory_order_relaxed);
  tracking_.store(true, std::memory_order_release);
}

UsageTotals Usage::totals() const noexcept {
  return {bytes_.load(std::memory_order_relaxed), inodes_.load(std::memory_order_relaxed)};
}

bool Usage::take(std::atomic<uint64_t>& counter, uint64_t n,
                 std::optional<uint64_t> limit) noexcept {
  uint64_t now = counter.load(std::memory_order_relaxed);
  for (;;) {
    if (limit && (n > *limit || now > *limit - n)) return false;
    if (counter.compare_exchange_weak(now, now + n, std::memory_order_relaxed)) return true;
  }
}

bool Usage::take_bytes(uint64_t n, std::optional<uint64_t> limit) noexcept {
  if (!tracking()) return true;
  return take(bytes_, n, limit);
}

void Usage::adjust_bytes(int64_t delta) noexcept {
  if (!tracking() || delta == 0) return;
  uint64_t now = bytes_.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t next = delta > 0                             ? now + static_cast<uint64_t>(delta)
                    : now > static_cast<uint64_t>(-delta) ? now - static_cast<uint64_t>(-delta)
                                                          : 0;
    if (bytes_.compare_exchange_weak(now, next, std::memory_order_relaxed)) return;
  }
}

bool Usage::take_inode(std::optional<uint64_t> limit) noexcept {
  if (!tracking()) return true;
  return take(inodes_, 1, limit);
}

void Usage::give_inode() noexcept {
  if (!tracking()) return;
  uint64_t now = inodes_.load(std::memory_order_relaxed);
  while (now > 0 && !inodes_.compare_exchange_weak(now, now - 1, std::memory_order_relaxed)) {
  }
}

std::mutex& Usage::file_lock(const InodeKey& key) noexcept {
  return stripes_[InodeKeyHash()(key) % stripes_.size()];
}

Result<uint64_t> xattr_bytes(FdRef fd) {
  auto names = sys::flistxattr_all(fd);
  if (!names) return names.error();
  uint64_t total = 0;
  for (size_t i = 0; i < names->size();) {
    std::string_view name(names->data() + i);
    auto size = sys::fgetxattr(fd, name.data(), nullptr, 0);
    if (size) total += xattr_cost(name, size.value());
    i += name.size() + 1;
  }
  return total;
}

namespace {

bool is_dot_or_dotdot(const char* n) {
  return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

// A directory to list, reopened for reading from a verified O_PATH handle.
Result<std::unique_ptr<sys::DirStream>> open_listing(const Resolver& r, FdRef handle) {
  auto fd = r.reopen(handle, O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  return std::make_unique<sys::DirStream>(std::move(fd.value()));
}

// Counts one entry of `dir`; returns the stream to descend into when it is a directory.
std::unique_ptr<sys::DirStream> count_entry(const Resolver& r, const sys::DirStream& dir,
                                            const char* raw, bool may_descend,
                                            UsageTotals* totals) {
  auto name = Name::parse(raw);
  if (!name) return nullptr;
  auto st = r.stat_child(dir.fd(), name.value());
  if (!st) return nullptr;  // refused (symlink, special, mount) or gone: the mount never shows it
  ++totals->inodes;
  if (S_ISREG(st->st_mode)) totals->bytes += static_cast<uint64_t>(st->st_size);
  // Attributes count too, read through an fd of the entry itself; never of a file with a second
  // name, which may be outside (it is refused through the mount anyway).
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) return nullptr;
  auto found = r.lookup(dir.fd(), name.value());
  if (!found) return nullptr;
  bool descend = S_ISDIR(found->attr.st_mode) && may_descend;
  auto fd = r.reopen(found->handle.ref(), O_RDONLY | (descend ? O_DIRECTORY : 0));
  if (!fd) return nullptr;
  if (auto bytes = xattr_bytes(fd->ref())) totals->bytes += bytes.value();
  if (!descend) return nullptr;
  return std::make_unique<sys::DirStream>(std::move(fd.value()));
}

}  // namespace

Result<UsageTotals> scan_usage(const Resolver& resolver) {
  UsageTotals totals;
  std::vector<std::unique_ptr<sys::DirStream>> stack;
  auto root = open_listing(resolver, resolver.root());
  if (!root) return root.error();
  stack.push_back(std::move(root.value()));
  while (!stack.empty()) {
    auto e = stack.back()->peek();
    if (!e) return e.error();
    if (!e->has_value()) {
      stack.pop_back();
      continue;
    }
    std::unique_ptr<sys::DirStream> sub;
    if (!is_dot_or_dotdot((*e)->name)) {
      sub = count_entry(resolver, *stack.back(), (*e)->name, stack.size() < kMaxScanDepth, &totals);
    }
    stack.back()->consume();
    if (sub) stack.push_back(std::move(sub));
  }
  return totals;
}

}  // namespace mount
}  // namespace confinefs
