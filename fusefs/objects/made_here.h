// MadeHere: the FIFOs and sockets this mount made, and where.
// Threat (a session blocks in open() on a FIFO it did not make, or connects into another party's
// socket): a FIFO or socket of the mount lives in the client kernel's inode for the mount's node,
// so one made through another mount of BACKING (another tenant), forged by an outside process, or
// renamed by one into a name a session is about to use, is never what the session expects.
// Only entries recorded here, still at the (parent, name) this mount last put them, are served
// as FIFOs and sockets; any other marked file is the regular file it is on the host. Nothing
// outside this process can add to the record, so there is no secret to keep or forge.
// Threat 44 (one user of an allow_other mount making every other user's mkfifo and bind() fail):
// each calling uid has a budget of its own (per_caller), under a mount-wide bound that keeps the
// record's memory finite; a caller over its budget first has its records of files that are gone
// dropped (removed or moved by an outside process: drop_gone), then ENOSPC, alone.
#pragma once

#include <sys/types.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fusefs/fd.h"
#include "fusefs/lock_order.h"
#include "fusefs/nodes/node.h"
#include "fusefs/result.h"

namespace confinefs::objects {

class MadeHere {
 public:
  explicit MadeHere(size_t max_entries = 1u << 18, size_t per_caller = 1u << 14)
      : max_entries_(max_entries), per_caller_(per_caller) {}

  // Room for one more object of caller's, taken before the object is made (so a full record
  // never leaves a stored file behind): ENOSPC when caller has per_caller records already, or
  // the mount max_entries. Follow with add() or cancel().
  Result<void> reserve(uid_t caller);
  void cancel(uid_t caller);
  // Records a FIFO or socket caller made at parent/name, on a reservation. sticky: the client's
  // own sticky bit (on the host that bit marks the stored file, so it is kept here).
  void add(InodeKey object, NodeType type, InodeKey parent, std::string_view name, bool sticky,
           uid_t caller);
  // Drops caller's records whose object still_there() says is gone from its place; how many.
  // still_there runs without the record's lock held (it looks at the host).
  using StillThere = std::function<bool(InodeKey object, InodeKey parent, std::string_view name)>;
  size_t drop_gone(uid_t caller, const StillThere& still_there);
  // The type of object if this mount made it and it is still at parent/name.
  std::optional<NodeType> find(InodeKey object, InodeKey parent, std::string_view name) const;
  // Follows a rename done through the mount.
  void moved(InodeKey object, InodeKey parent, std::string_view name);
  void erase(InodeKey object);
  bool sticky(InodeKey object) const;
  void set_sticky(InodeKey object, bool sticky);

  // resume=on: from now on every change is appended to memfd, for the next daemon, after the
  // changes a predecessor appended there are taken in (the record holds no more than this
  // object keeps: a successor serves the same FIFOs and sockets at the same places, each still
  // checked against the host as here). A record cut short by a crash ends the replay.
  // Format (version 1, named by every entry's magic "CFSO"): entries one after the other, up to
  // 16 MiB: u32 magic, u8 op (1 put, 2 drop), u8 type, u8 sticky, u8 name length, u64 dev, ino,
  // parent dev, parent ino, then the name. An entry of another magic (another version, or torn
  // by a crash) ends the replay.
  Result<void> keep_in(Fd memfd);

 private:
  // Replayed from a predecessor's log, which keeps no callers: counted in the mount-wide bound.
  static constexpr uid_t kNoCaller = static_cast<uid_t>(-1);
  struct Place {
    NodeType type;
    InodeKey parent;
    std::string name;
    bool sticky;
    uid_t caller = kNoCaller;
  };
  void record_locked(InodeKey object);  // appends object's place now (or its removal)
  void erase_locked(std::unordered_map<InodeKey, Place, InodeKeyHash>::iterator it);
  mutable OrderedMutex<LockLevel::kMadeHere> mutex_;
  std::unordered_map<InodeKey, Place, InodeKeyHash> places_;
  std::unordered_map<uid_t, size_t> per_caller_count_;  // records and reservations per caller
  size_t reserved_ = 0;                                 // reservations not yet added
  const size_t max_entries_;
  const size_t per_caller_;
  Fd record_;  // resume=on: the change log (keep_in)
  off_t record_end_ = 0;
};

}  // namespace confinefs::objects
