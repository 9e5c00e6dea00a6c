// InitHandshake: the connection's INIT, kept for the next daemon, and replayed to it.
//
// The kernel sends INIT once per connection. A daemon that takes over a live connection from
// its supervisor (docs/design.md, "Surviving the daemon") gets none, yet libfuse 3.14 answers
// every request before INIT with EIO. So the first daemon records the INIT request as the
// kernel sent it and its reply as it went out, in a memfd its supervisor holds; a successor's
// channel hook (fuse/channel_io.cpp) hands libfuse that request as its first read, holds every
// other reader back until libfuse has answered it, and swallows the answer: the kernel already
// has one. The answer must equal the recorded reply byte for byte, since the kernel keeps what
// it agreed to first (limits, cache modes, passthrough); a successor that would answer
// differently (other options, another version) does not serve the connection at all.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::fuse {

class InitHandshake {
 public:
  // A new connection: its INIT is recorded as it happens.
  static Result<InitHandshake> record();
  // A predecessor's record: EINVAL unless it holds a complete INIT request and reply.
  static Result<InitHandshake> replay(Fd memfd);

  InitHandshake(InitHandshake&& other) noexcept;
  InitHandshake& operator=(InitHandshake&&) = delete;

  FdRef fd() const noexcept { return memfd_.ref(); }
  bool replaying() const noexcept { return replaying_; }

  // The channel hook's read: while replaying, the first caller gets the recorded INIT request
  // (its length), the others wait until its reply was swallowed and then read the connection;
  // -1 with errno ENODEV (libfuse then ends the session) once the reply disagreed. nullopt:
  // read the connection.
  std::optional<ssize_t> replayed_request(void* buf, size_t size);
  // The channel hook saw the kernel's INIT request (a new connection): recorded.
  void saw_request(std::span<const std::byte> request);
  // The INIT reply (header and body, as libfuse and the passthrough patch made it): written to
  // the connection and recorded, or, while replaying, compared with the record and swallowed.
  ssize_t send_reply(int fd, const iovec* parts, int count);
  // Replaying: whether the reply equalled the recorded one (false until it was sent).
  bool agreed() const noexcept { return agreed_.load(std::memory_order_acquire); }

 private:
  InitHandshake(Fd memfd, bool replaying) : memfd_(std::move(memfd)), replaying_(replaying) {}
  Result<void> store(size_t offset, std::span<const std::byte> bytes);

  Fd memfd_;
  bool replaying_ = false;
  std::vector<std::byte> request_, reply_;  // the record, while replaying
  std::atomic<bool> handed_out_{false};
  std::atomic<bool> replied_{false};
  std::atomic<bool> agreed_{false};
};

}  // namespace confinefs::fuse
