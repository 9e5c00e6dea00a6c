// Passthrough: which opens the kernel serves straight from the daemon's verified host fd (FUSE
// passthrough, Linux 6.9+: reads, writes, splice and mmap of such an open never reach the
// daemon), and the rule the kernel keeps for each inode: while one open of an inode passes
// through, every open of it must pass through, to the same backing file; while one open of it
// goes through the page cache, none may. An open that breaks the rule fails with EIO in the
// kernel, so the daemon never sends one: it answers EBUSY itself for the one case the rule leaves
// no way out of (an open that may not pass through, of a file open with passthrough: a reload
// brought byte limits while it was open).
//
// The fd handed over is the one the open path verified (reopened from the pinned inode, fstat,
// the single-link check: guards/verify.cpp), so the kernel's I/O reaches what today's reads and
// writes through that fd reach. Registering it needs CAP_SYS_ADMIN, which the serving process
// does not have: a registrar process does it (cmd/backing_registrar.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "fusefs/fd.h"
#include "fusefs/fuse/libfuse314/wire.h"
#include "fusefs/fuse/passthrough_record.h"
#include "fusefs/lock_order.h"
#include "fusefs/result.h"

namespace confinefs::fuse {

// -o passthrough=: auto uses it where the kernel and the mount allow it, require refuses to
// serve without it, off never asks for it.
enum class PassthroughMode : unsigned char { kOff, kAuto, kRequire };

// Registers verified host files with the kernel as backing files and releases them.
class BackingRegistrar {
 public:
  virtual ~BackingRegistrar() = default;
  virtual Result<int32_t> add(FdRef file) = 0;
  virtual Result<void> remove(int32_t backing_id) = 0;
  // Registers and releases a file of the registrar's own: whether the kernel accepts backing
  // files on this connection at all.
  virtual Result<void> probe() = 0;
};

// How the kernel does one open's I/O.
struct KernelIo {
  int32_t backing_id = 0;  // > 0: passthrough to this backing file; 0: through the daemon
};

class Passthrough {
 public:
  // kPending until the INIT reply has gone out (the mount exists before the kernel's INIT).
  enum class State : unsigned char { kOff, kPending, kUnavailable, kOn };

  // Before serving: the mode, the registrar (none: passthrough is unavailable, as for a daemon
  // that is not root or was mounted by libfuse), and what to do when passthrough=require finds
  // at INIT that the kernel does not take it (stop serving).
  void configure(PassthroughMode mode, std::unique_ptr<BackingRegistrar> registrar,
                 std::function<void()> refused);
  PassthroughMode mode() const noexcept { return mode_; }

  // INIT, from the channel hook (fuse/channel_io.cpp): what the kernel offered; which reply is
  // INIT's (true once, for its unique id); whether that reply asks for passthrough; and, once it
  // went out, whether the kernel took it.
  bool init_seen() const noexcept { return init_seen_.load(std::memory_order_acquire); }
  void offered(const wire::KernelOffer& offer);
  bool takes_init_reply(uint64_t unique) noexcept;
  bool wants(bool writeback) const noexcept;
  void replied(bool asked);
  State state() const noexcept { return state_.load(std::memory_order_acquire); }
  const char* state_name() const noexcept;

  // The open with handle fh of node: passed through when may_pass_through and the inode allows
  // it (file: the verified host fd), else through the daemon; EBUSY when it may not pass through
  // and the inode must. Recorded until release(fh). unique: the OPEN or CREATE request's id (0
  // when unknown): one the kernel resent after the daemon that counted it died is not counted
  // again (KernelOpens).
  Result<KernelIo> open(uint64_t fh, uint64_t node, FdRef file, bool may_pass_through,
                        uint64_t unique = 0);
  void release(uint64_t fh, uint64_t unique = 0);
  // RELEASE of a handle a predecessor daemon gave out, on node: one open fewer of the kind the
  // node's opens are (the kernel never mixes the two on one inode), unless the request is one
  // the predecessor counted before it died.
  void release_predecessors(uint64_t node, uint64_t unique = 0);

  // From now on each node's counts are kept in record, for a successor; the counts a
  // predecessor left there are taken over. Before serving.
  void keep_in(PassthroughRecord record);

 private:
  struct Open {
    uint64_t node;
    KernelIo io;
  };
  // Registers file with the kernel (the registrar's round trip); 0 when it was refused.
  int32_t add_backing(FdRef file);
  // One open fewer of node (it_passed_through: of which kind); the backing id to release, if any.
  int32_t closed_locked(uint64_t node, bool it_passed_through, uint64_t unique);

  PassthroughMode mode_ = PassthroughMode::kOff;
  std::unique_ptr<BackingRegistrar> registrar_;
  std::function<void()> refused_;
  bool offer_ = false;
  uint64_t init_unique_ = 0;
  std::atomic<bool> init_seen_{false};
  std::atomic<bool> init_replied_{false};
  std::atomic<bool> refusal_logged_{false};
  std::atomic<State> state_{State::kOff};
  // Records one node's counts (resume=on), under mutex_.
  void record_locked(uint64_t node, const KernelOpens& opens) noexcept;

  OrderedMutex<LockLevel::kPassthrough> mutex_;
  std::unordered_map<uint64_t, KernelOpens> inodes_;  // by node id
  std::unordered_set<uint64_t> registering_;          // nodes whose first open is being registered
  std::condition_variable_any registered_;
  std::optional<PassthroughRecord> record_;  // resume=on
  std::unordered_map<uint64_t, Open> opens_;
};

}  // namespace confinefs::fuse
