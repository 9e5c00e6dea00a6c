// RequestDrain: a planned hand-over that answers every request it took (resume=on).
//
// libfuse 3.14 drops a request a worker read while the session was being told to exit (the
// worker returns without processing it), and the kernel then fails it with ECONNABORTED when
// that worker's /dev/fuse fd closes: a restart would lose operations in flight. So with
// resume=on the channel hook (fuse/channel_io.cpp) reads through this object instead: once
// begin() is called no worker starts another read, and wait_idle() returns when no worker is
// inside a read and every request read has been answered. The process then exits without
// libfuse's shutdown; requests the kernel still queues are the next daemon's.
// Reads stay plain blocking reads (no cost on the request path). A worker already blocked in
// one when the drain begins is woken by a request of the daemon's own (wake(): a statfs of the
// mount), which it answers like any other before it stops.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::fuse {

class RequestDrain {
 public:
  static Result<RequestDrain> create();
  RequestDrain(RequestDrain&& other) noexcept;
  RequestDrain& operator=(RequestDrain&&) = delete;

  // The channel hook's read: a request from fd (counted until answered), or, once the drain
  // has begun, never returns (the worker waits for the process to end).
  ssize_t read(int fd, void* buf, size_t size);
  // How to make the kernel send one request to this daemon (wakes one blocked reader).
  void wake_with(std::function<void()> wake) { wake_ = std::move(wake); }
  // A request the hook handed libfuse from elsewhere (the replayed INIT): counted as read.
  void took_request(const void* request, size_t size) noexcept;
  // The channel hook sent a reply (not a notification, whose unique is 0).
  void answered() noexcept;

  // Async-signal-safe: no worker starts another read from now on.
  void begin() noexcept;
  // Blocks until begin() was called.
  void wait_begun() const;
  // Waits until no worker is reading and every request read was answered, waking blocked
  // readers; false after timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;
  uint64_t answered_count() const noexcept { return answered_.load(); }

 private:
  RequestDrain(Fd wake_read, Fd wake_write)
      : wake_read_(std::move(wake_read)), wake_write_(std::move(wake_write)) {}
  Fd wake_read_, wake_write_;  // written once by begin(): wakes wait_begun
  std::function<void()> wake_;
  std::atomic<bool> draining_{false};
  std::atomic<int> reading_{0};
  std::atomic<int64_t> unanswered_{0};
  std::atomic<uint64_t> answered_{0};
};

}  // namespace confinefs::fuse
