#include "fusefs/fuse/passthrough.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace confinefs::fuse {

void Passthrough::configure(PassthroughMode mode, std::unique_ptr<BackingRegistrar> registrar,
                            std::function<void()> refused) {
  mode_ = mode;
  registrar_ = std::move(registrar);
  refused_ = std::move(refused);
  state_.store(mode == PassthroughMode::kOff ? State::kOff
               : registrar_                  ? State::kPending
                                             : State::kUnavailable);
}

void Passthrough::offered(const wire::KernelOffer& offer) {
  offer_ = offer.passthrough;
  init_unique_ = offer.unique;
  init_seen_.store(true, std::memory_order_release);
}

bool Passthrough::takes_init_reply(uint64_t unique) noexcept {
  return init_seen() && unique == init_unique_ && !init_replied_.exchange(true);
}

bool Passthrough::wants(bool writeback) const noexcept {
  return mode_ != PassthroughMode::kOff && registrar_ && offer_ && !writeback;
}

void Passthrough::replied(bool asked) {
  // Off, or no registrar: configure() decided already, and start-up said why.
  if (mode_ == PassthroughMode::kOff || !registrar_) return;
  Result<void> probe = Error{EOPNOTSUPP};
  // The kernel processed the INIT reply before the write returned: a backing file it refuses
  // now (EPERM) means it did not take the flags.
  if (asked) probe = registrar_->probe();
  if (probe) {
    state_.store(State::kOn, std::memory_order_release);
    spdlog::info("passthrough on: the kernel reads and writes files from the verified host fd");
    return;
  }
  state_.store(State::kUnavailable, std::memory_order_release);
  const char* why = !offer_  ? "the kernel does not offer it"
                    : !asked ? "cache=full's writeback cache, or a protocol before 7.23"
                             : std::strerror(probe.code());
  if (mode_ == PassthroughMode::kRequire) {
    spdlog::error("passthrough=require, but passthrough is unavailable ({}): stopping", why);
    if (refused_) refused_();
    return;
  }
  spdlog::info("passthrough unavailable ({}): data goes through the daemon", why);
}

const char* Passthrough::state_name() const noexcept {
  switch (state()) {
    case State::kOff: return "off";
    case State::kPending: return "pending";
    case State::kUnavailable: return "unavailable";
    case State::kOn: return "on";
  }
  return "?";
}

int32_t Passthrough::add_backing(FdRef file) {
  auto id = registrar_->add(file);
  if (id) return id.value();
  // Once at info: a BACKING on a stacked filesystem (overlayfs, another FUSE mount) gets ELOOP
  // for every file, and the operator should know why the data goes through the daemon.
  if (!refusal_logged_.exchange(true)) {
    spdlog::info(
        "passthrough: the kernel refused a backing file ({}{}); such opens go through "
        "the daemon",
        std::strerror(id.code()), id.code() == ELOOP ? ": BACKING is on a stacked filesystem" : "");
  } else {
    spdlog::debug("passthrough: backing file refused ({}); through the daemon",
                  std::strerror(id.code()));
  }
  return 0;
}

Result<KernelIo> Passthrough::open(uint64_t fh, uint64_t node, FdRef file, bool may_pass_through,
                                   uint64_t unique) {
  const State now = state();
  // Off and unavailable are final: no open will pass through, nothing to keep.
  if (now == State::kOff || now == State::kUnavailable) return KernelIo{};
  // Pending: the kernel may already serve opens while the registrar's probe is under way. Such an
  // open goes through the page cache and is recorded as cached, so that no open of its inode
  // passes through once passthrough is on (the kernel would fail that open with EIO).
  const bool may = may_pass_through && now == State::kOn;
  std::unique_lock lock(mutex_);
  // Another open of this inode is registering it: what it gets decides for this one too.
  registered_.wait(lock, [&] { return !registering_.contains(node); });
  KernelIo io;
  if (const KernelOpens& inode = inodes_[node]; inode.passed_through > 0) {
    if (!may) return Error{EBUSY};
    io.backing_id = inode.backing_id;
  } else if (may && inode.cached == 0) {
    // The round trip to the registrar runs with no lock held: opens of other inodes go on
    // (fusefs/lock_order.h); opens of this one wait above.
    registering_.insert(node);
    lock.unlock();
    int32_t id = 0;
    try {
      id = add_backing(file);
    } catch (...) {
      // Never leave the inode marked: every later open of it would wait forever.
      lock.lock();
      registering_.erase(node);
      registered_.notify_all();
      throw;
    }
    lock.lock();
    registering_.erase(node);
    registered_.notify_all();
    io.backing_id = id;
  }
  KernelOpens& inode = inodes_[node];
  if (io.backing_id > 0) inode.backing_id = io.backing_id;
  // Not again when the daemon the kernel sent it to first counted it and died before replying.
  if (KernelOpens::count(inode.opened, unique)) {
    ++(io.backing_id > 0 ? inode.passed_through : inode.cached);
  }
  record_locked(node, inode);
  opens_.emplace(fh, Open{node, io});
  return io;
}

int32_t Passthrough::closed_locked(uint64_t node, bool it_passed_through, uint64_t unique) {
  auto inode = inodes_.find(node);
  if (inode == inodes_.end()) return 0;
  KernelOpens& opens = inode->second;
  if (!KernelOpens::count(opens.released, unique)) return 0;  // counted before a crash
  int32_t unused_id = 0;
  if (it_passed_through && opens.passed_through > 0 && --opens.passed_through == 0) {
    unused_id = opens.backing_id;
    opens.backing_id = 0;
  } else if (!it_passed_through && opens.cached > 0) {
    --opens.cached;
  }
  record_locked(node, opens);
  if (opens.passed_through == 0 && opens.cached == 0) inodes_.erase(inode);
  return unused_id;
}

void Passthrough::release(uint64_t fh, uint64_t unique) {
  int32_t unused_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto open = opens_.find(fh);
    if (open == opens_.end()) return;
    const Open was = open->second;
    opens_.erase(open);
    unused_id = closed_locked(was.node, was.io.backing_id > 0, unique);
  }
  // The kernel dropped its own reference when the last passthrough open of the inode closed,
  // before it sent RELEASE; this releases the id.
  if (unused_id > 0) (void)registrar_->remove(unused_id);
}

void Passthrough::release_predecessors(uint64_t node, uint64_t unique) {
  int32_t unused_id = 0;
  {
    std::lock_guard lock(mutex_);
    auto inode = inodes_.find(node);
    if (inode == inodes_.end()) return;
    unused_id = closed_locked(node, inode->second.passed_through > 0, unique);
  }
  if (unused_id > 0 && registrar_) (void)registrar_->remove(unused_id);
}

void Passthrough::keep_in(PassthroughRecord record) {
  std::lock_guard lock(mutex_);
  for (const auto& [node, opens] : record.recorded()) inodes_[node] = opens;
  record_.emplace(std::move(record));
}

void Passthrough::record_locked(uint64_t node, const KernelOpens& opens) noexcept {
  if (record_ && !record_->write(node, opens)) {
    spdlog::warn("passthrough: the record is full; a next daemon may miss node {}'s opens", node);
  }
}

}  // namespace confinefs::fuse
