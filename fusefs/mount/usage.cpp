#include "fusefs/mount/usage.h"

#include <dirent.h>
#include <fcntl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fusefs/sys/dir_stream.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace mount {

void Usage::start(const UsageTotals& totals) noexcept {
  if (totals.complete || !tracking()) {
    bytes_.store(totals.bytes, std::memory_order_relaxed);
    inodes_.store(totals.inodes, std::memory_order_relaxed);
  } else {
    // Cut short: what it counted is a floor; the live counters may only rise to it.
    uint64_t b = bytes_.load(std::memory_order_relaxed);
    while (b < totals.bytes && !bytes_.compare_exchange_weak(b, totals.bytes)) {
    }
    uint64_t i = inodes_.load(std::memory_order_relaxed);
    while (i < totals.inodes && !inodes_.compare_exchange_weak(i, totals.inodes)) {
    }
  }
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

Usage::FileLock& Usage::file_lock(const InodeKey& key) noexcept {
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

// Gone (removed or renamed meanwhile) or never shown through the mount: nothing is missed.
bool nothing_missed(const Error& e) { return e.code == ENOENT || e.refusal != Refusal::kNone; }

void missed(UsageTotals* totals, const std::string& what, int code) {
  if (!totals->complete) return;
  totals->complete = false;
  totals->missed = what + ": " + std::strerror(code);
}

// Counts one entry of `dir`; returns the stream to descend into when it is a directory (or, at
// the depth limit, its O_PATH handle in *deeper, to be scanned later).
std::unique_ptr<sys::DirStream> count_entry(const Resolver& r, const sys::DirStream& dir,
                                            const char* raw, bool may_descend, Fd* deeper,
                                            UsageTotals* totals) {
  auto name = Name::parse(raw);
  if (!name) return nullptr;
  auto st = r.stat_child(dir.fd(), name.value());
  if (!st) {
    if (!nothing_missed(st.error())) missed(totals, raw, st.code());
    return nullptr;
  }
  ++totals->inodes;
  if (S_ISREG(st->st_mode)) totals->bytes += static_cast<uint64_t>(st->st_size);
  // Attributes count too, read through an fd of the entry itself; never of a file with a second
  // name, which may be outside (it is refused through the mount anyway).
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) return nullptr;
  auto found = r.lookup(dir.fd(), name.value());
  if (!found) {
    if (!nothing_missed(found.error())) missed(totals, raw, found.code());
    return nullptr;
  }
  bool is_dir = S_ISDIR(found->attr.st_mode);
  auto fd = r.reopen(found->handle.ref(), O_RDONLY | (is_dir ? O_DIRECTORY : 0));
  if (!fd) {
    // A file or directory the scan may not open (a 0300 directory made by a tenant when the
    // daemon runs as the tenant): its attributes and everything beneath it are missed.
    if (!nothing_missed(fd.error())) missed(totals, raw, fd.code());
    return nullptr;
  }
  if (auto bytes = xattr_bytes(fd->ref())) totals->bytes += bytes.value();
  if (!is_dir) return nullptr;
  if (!may_descend) {
    *deeper = std::move(found->handle);
    return nullptr;
  }
  return std::make_unique<sys::DirStream>(std::move(fd.value()));
}

// Scans the tree below the listing `top`, up to max_depth levels held open at once; the O_PATH
// handles of directories at the limit go to `later` (at most kMaxDeferred at a time).
Result<void> scan_tree(const Resolver& resolver, std::unique_ptr<sys::DirStream> top,
                       size_t max_depth, std::vector<Fd>* later, UsageTotals* totals) {
  std::vector<std::unique_ptr<sys::DirStream>> stack;
  stack.push_back(std::move(top));
  while (!stack.empty()) {
    auto e = stack.back()->peek();
    if (!e) return e.error();
    if (!e->has_value()) {
      stack.pop_back();
      continue;
    }
    std::unique_ptr<sys::DirStream> sub;
    const char* entry = (*e)->name;
    if (!is_dot_or_dotdot(entry)) {
      Fd deeper;
      sub = count_entry(resolver, *stack.back(), entry, stack.size() < max_depth, &deeper, totals);
      if (deeper.valid()) {
        if (later->size() >= kMaxDeferred) {
          missed(totals, "directories below depth " + std::to_string(max_depth), ENFILE);
        } else {
          later->push_back(std::move(deeper));
        }
      }
    }
    stack.back()->consume();
    if (sub) stack.push_back(std::move(sub));
  }
  return {};
}

}  // namespace

Result<UsageTotals> scan_usage(const Resolver& resolver, size_t max_depth) {
  UsageTotals totals;
  std::vector<Fd> later;
  auto root = open_listing(resolver, resolver.root());
  if (!root) return root.error();
  if (auto ok = scan_tree(resolver, std::move(root.value()), max_depth, &later, &totals); !ok) {
    return ok.error();
  }
  // Deeper directories, each from the handle kept when the scan reached it; the handle pins the
  // directory, not its place, and reopening one that an outside rename took out of BACKING is
  // refused (Landlock), which leaves the scan incomplete rather than counting outside data.
  while (!later.empty()) {
    Fd dir = std::move(later.back());
    later.pop_back();
    auto listing = open_listing(resolver, dir.ref());
    if (!listing) {
      if (!nothing_missed(listing.error())) missed(&totals, "a deep directory", listing.code());
      continue;
    }
    if (auto ok = scan_tree(resolver, std::move(listing.value()), max_depth, &later, &totals);
        !ok) {
      return ok.error();
    }
  }
  return totals;
}

}  // namespace mount
}  // namespace confinefs
