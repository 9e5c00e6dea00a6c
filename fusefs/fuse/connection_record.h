// ConnectionRecord: what a successor daemon needs of the kernel connection it takes over, kept in
// a memfd the supervisor holds (docs/design.md, "Surviving the daemon"): the INIT exchange, the
// mount the connection serves, and the daemon's generation, which keeps handle numbers apart.
//
// INIT: the kernel sends it once per connection. A successor gets none, yet libfuse 3.14 answers
// every request before INIT with EIO. So the first daemon records the INIT request as the kernel
// sent it and its reply as it went out; a successor's channel hook (fuse/channel_io.cpp) hands
// libfuse that request as its first read, holds every other reader back until libfuse has
// answered it, and swallows the answer: the kernel already has one. The answer must equal the
// recorded reply byte for byte, since the kernel keeps what it agreed to first (limits, cache
// modes, passthrough); a successor that would answer differently (other options, another
// version) does not serve the connection at all.
// Format (version 1, named by the magic "cfsinit1"; connection_record.cpp): a header (magic, the
// request's and the reply's lengths, the mount's two ids, the generation) and the request and
// the reply at fixed places, each at most 512 bytes. A length is written after its bytes, so a
// record torn by a crash is refused; so is any other magic (another version).
// Handles (threat 41): the kernel keeps the predecessor's open files and directories with the
// numbers it gave them; a successor numbering its own from 1 would serve an old descriptor's
// reads and writes from a file someone else opened since. Each daemon on the connection counts
// its handle numbers from first_handle(), above every number its predecessors could give.
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

class ConnectionRecord {
 public:
  // A new connection: its INIT is recorded as it happens.
  static Result<ConnectionRecord> record();
  // A predecessor's record: EINVAL unless it holds a complete INIT request and reply.
  static Result<ConnectionRecord> replay(Fd memfd);

  ConnectionRecord(ConnectionRecord&& other) noexcept;
  ConnectionRecord& operator=(ConnectionRecord&&) = delete;

  FdRef fd() const noexcept { return memfd_.ref(); }
  bool replaying() const noexcept { return replaying_; }

  // Which mount the connection serves (mountinfo's id and the unique mount id), recorded by the
  // daemon that mounted it so a successor takes the connection over only while that very mount
  // is at its mount point.
  struct MountIds {
    uint64_t id = 0, unique_id = 0;
  };
  Result<void> record_mount(MountIds ids);
  MountIds mount() const noexcept { return mount_; }
  // The first handle number this daemon may give out.
  uint64_t first_handle() const noexcept { return generation_ << kHandleBits; }
  static constexpr unsigned kHandleBits = 40;

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
  // Replaying: lets the readers held back since the INIT go, once the INIT reply has been sent
  // and what it decided is in force (passthrough's state: a request read before would find it
  // undecided, and refuse an open of a file the predecessor's opens pass through).
  void release_readers();

 private:
  ConnectionRecord(Fd memfd, bool replaying) : memfd_(std::move(memfd)), replaying_(replaying) {}
  Result<void> store(size_t offset, std::span<const std::byte> bytes);

  Fd memfd_;
  bool replaying_ = false;
  std::vector<std::byte> request_, reply_;  // the record, while replaying
  MountIds mount_;
  uint64_t generation_ = 1;  // daemons on this connection so far, this one included
  std::atomic<bool> handed_out_{false};
  std::atomic<bool> replied_{false};
  std::atomic<bool> agreed_{false};
};

}  // namespace confinefs::fuse
