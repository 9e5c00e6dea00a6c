// MadeHere: the FIFOs and sockets this mount made, and where.
// Threat (a session blocks in open() on a FIFO it did not make, or connects into another party's
// socket): a FIFO or socket of the mount lives in the client kernel's inode for the mount's node,
// so one made through another mount of BACKING (another tenant), forged by an outside process, or
// renamed by one into a name a session is about to use, is never what the session expects.
// Only entries recorded here, still at the (parent, name) this mount last put them, are served
// as FIFOs and sockets; any other marked file is the regular file it is on the host. Nothing
// outside this process can add to the record, so there is no secret to keep or forge.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fusefs/fd.h"
#include "fusefs/nodes/node.h"
#include "fusefs/result.h"

namespace confinefs::objects {

class MadeHere {
 public:
  explicit MadeHere(size_t max_entries = 1u << 16) : max_entries_(max_entries) {}

  // Records a FIFO or socket made at parent/name; ENOSPC past max_entries. sticky: the client's
  // own sticky bit (on the host that bit marks the stored file, so it is kept here).
  Result<void> add(InodeKey object, NodeType type, InodeKey parent, std::string_view name,
                   bool sticky);
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
  Result<void> keep_in(Fd memfd);

 private:
  struct Place {
    NodeType type;
    InodeKey parent;
    std::string name;
    bool sticky;
  };
  void record_locked(InodeKey object);  // appends object's place now (or its removal)
  mutable std::mutex mutex_;
  std::unordered_map<InodeKey, Place, InodeKeyHash> places_;
  const size_t max_entries_;
  Fd record_;  // resume=on: the change log (keep_in)
  off_t record_end_ = 0;
};

}  // namespace confinefs::objects
