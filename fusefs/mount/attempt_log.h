// AttemptLog: the changes this daemon began for requests it has not answered yet, kept in a memfd
// its supervisor holds (resume=on), so that a successor answers each request the kernel resends
// exactly once (docs/design.md, "Surviving the daemon").
//
// A daemon killed while it serves a request leaves it read and unanswered; the successor asks
// the kernel to resend every such request (FUSE_NOTIFY_RESEND, fuse/channel_io.cpp). A request
// that changes nothing, or whose change can be made twice with one result (a write at an offset,
// a truncate, a chmod), is simply served again. For the others (a name made or removed, a rename,
// an append, an attribute created or removed, a range collapsed or inserted), the operation
// records here, before its first change to the host, what it is about to do and what the names
// it changes held (Attempt), and at its answer the result (done). A successor that gets the
// request again reads the record (ops/replay.h): done, it answers the recorded result; begun, it
// looks at the names now and decides whether the change happened; undecidable, it answers EIO
// and audits it, never a guess. The record goes when the reply has been written.
//
// Format (a sys::SlotFile, magic "cfsreqs ", version 1; crash consistency as that file says): one
// slot per request: its unique id (the key, without the kernel's resend bit), the operation, the
// state (begun, done), the result, the inodes at the request's two names before, the inode it
// made, the file size before, the time it began, and the name an entry was parked under.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "fusefs/fd.h"
#include "fusefs/lock_order.h"
#include "fusefs/nodes/node.h"
#include "fusefs/result.h"
#include "fusefs/sys/slot_file.h"

namespace confinefs {
inline namespace mount {

struct Attempt {
  uint32_t op = 0;     // mount::Op
  bool done = false;   // the change was made (or refused) and result is its answer
  int64_t result = 0;  // done: the answer: -errno, or what a success carries (a write's count)
  std::array<std::optional<InodeKey>, 2> before;  // the inode at each name before (none: free)
  std::optional<InodeKey> made;                   // done: the inode the request made
  int64_t size_before = -1;                       // an append or a shift: the file's size before
  bool existed = false;                           // an attribute: whether it existed before
  int64_t begun_ns = 0;                           // CLOCK_REALTIME when it began
  std::string parking;                            // a rename: the name it parked the entry under
};

class AttemptLog {
 public:
  static constexpr size_t kCapacity = 4096;  // requests served at once, with room to spare

  // For the connection whose mount has these ids (mountinfo's and the unique mount id): unique
  // ids of requests mean something on their own connection only.
  struct Connection {
    uint64_t mount_id = 0, mount_unique_id = 0;
  };
  static Result<AttemptLog> create(Connection connection);
  // A predecessor's log, checked: EINVAL when it is not one, ESTALE when it was kept for another
  // connection.
  static Result<AttemptLog> adopt(Fd memfd, Connection connection);

  AttemptLog(AttemptLog&& other) noexcept;
  AttemptLog& operator=(AttemptLog&&) = delete;

  FdRef fd() const noexcept { return file_.fd(); }

  // The record a predecessor left for request unique, resent by the kernel as operation op (a
  // record of another operation is none of its); it stays until the answer to the request has
  // been written.
  std::optional<Attempt> claim(uint64_t unique, uint32_t op);
  // A request the kernel did not resend was read. The kernel resends at once, at the head of its
  // queue, so every resent request was read by then: a record none claimed within kUnclaimed is
  // one whose reply had gone out before its daemon could drop it, and goes.
  void fresh_request();
  static constexpr std::chrono::seconds kUnclaimed{30};

  // This daemon begins a change for request unique (a record of the same request, its
  // predecessor's included, is replaced). False when the log is full: the change is made anyway,
  // unrecorded (a crash then leaves it undecidable).
  bool begin(uint64_t unique, const Attempt& attempt);
  // The change begun for unique was made (result >= 0; made: the inode it made) or refused
  // (result: -errno).
  void done(uint64_t unique, int64_t result, std::optional<InodeKey> made = std::nullopt);
  // The reply to unique was written: its record, if any, goes.
  void answered(uint64_t unique);

  struct Slot;  // the layout (attempt_log.cpp)

 private:
  explicit AttemptLog(sys::SlotFile file);
  void release_locked(uint64_t unique);
  void expire_locked();

  sys::SlotFile file_;
  mutable OrderedMutex<LockLevel::kAttemptLog> mutex_;
  struct Predecessors {
    Attempt attempt;
    bool claimed = false;
  };
  std::unordered_map<uint64_t, uint32_t> slots_;             // unique -> its slot (every record)
  std::unordered_map<uint64_t, Predecessors> predecessors_;  // unique -> a predecessor's record
  std::atomic<size_t> kept_{0};  // records in the log: answered() looks only when some are
  std::atomic<bool> fresh_seen_{false};
  std::chrono::steady_clock::time_point fresh_since_{};  // the first fresh request (guarded)
};

}  // namespace mount
}  // namespace confinefs
