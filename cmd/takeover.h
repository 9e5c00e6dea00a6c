// -o resume=on: the mount outlives its daemon (docs/deployment.md, "Restarts and crashes").
// A daemon keeps, in its supervisor's fd store (cmd/fd_store.h), the kernel connection and what
// a successor needs to serve it, one versioned format per store: the node journal
// (nodes/node_journal.h), the connection's record (fuse/connection_record.h), the FIFOs and
// sockets made through the mount (objects/made_here.h), the passthrough counts
// (fuse/passthrough_record.h) and the changes begun for requests not answered yet
// (mount/attempt_log.h). A successor started with them takes the connection over instead
// of mounting again.
// Threat 41: the stored fds are taken over only while the very mount their record names (its
// mountinfo id and unique id) is still at MOUNTPOINT, and the journal only for the same BACKING
// root; nodes are then verified one by one as the kernel asks for them (ops/resume.cpp).
#pragma once

#include <memory>
#include <optional>

#include "cmd/failure.h"
#include "cmd/fd_store.h"
#include "cmd/mount_place.h"
#include "cmd/stale_mount.h"
#include "fusefs/fuse/connection_record.h"
#include "fusefs/fuse/passthrough_record.h"
#include "fusefs/mount/attempt_log.h"
#include "fusefs/nodes/node_journal.h"

namespace confinefs::cmd {

// What this daemon keeps for a successor, or took over from a predecessor.
struct KeptState {
  std::unique_ptr<NodeJournal> journal;
  fuse::ConnectionRecord connection;
  Fd objects;  // the FIFOs and sockets made through the mount (objects/made_here.h)
  fuse::PassthroughRecord passthrough;
  AttemptLog attempts;
};

struct Takeover {
  Fd channel;  // the live /dev/fuse connection
  KeptState kept;
};

// A predecessor's connection, checked; nullopt when there is none to take over. Stored fds
// whose mount is no longer at place are dropped from the store (a stale mount is then cleared
// as on any start). A live mount whose record or journal cannot be trusted is unmounted and its
// fds dropped: its sessions lose the mount, as after a crash without resume, and nothing is
// served from state that does not hold.
Phase<std::optional<Takeover>> take_over(StoredState stored, const MountPlace& place,
                                         InodeKey backing_root);

// A new mount's state for a successor, handed to the store with its connection.
Phase<KeptState> keep_for_successor(FdRef channel, const MountIdentity& mount,
                                    InodeKey backing_root, size_t max_nodes);

}  // namespace confinefs::cmd
