// The supervisor's file descriptor store: where the kernel connection and the state a successor
// needs outlive the daemon (docs/deployment.md, "Restarts and crashes"). The protocol is
// systemd's, which any supervisor can speak: the daemon sends "FDSTORE=1\nFDNAME=<name>" with
// the fd (SCM_RIGHTS) to $NOTIFY_SOCKET, "FDSTOREREMOVE=1\nFDNAME=<name>" to take it back; the
// next daemon gets the fds from 3 on with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.
// Threat 41: only the names below are taken; anything else handed in is closed unread.
#pragma once

#include <string_view>

#include "fusefs/fd.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

inline constexpr std::string_view kStoredChannel = "fuse";             // the /dev/fuse connection
inline constexpr std::string_view kStoredNodes = "nodes";              // nodes/node_journal.h
inline constexpr std::string_view kStoredInit = "init";                // fuse/connection_record.h
inline constexpr std::string_view kStoredObjects = "objects";          // objects/made_here.h's log
inline constexpr std::string_view kStoredPassthrough = "passthrough";  // fuse/passthrough_record.h
inline constexpr std::string_view kStoredRequests = "requests";        // mount/attempt_log.h

// What a predecessor left in the store (each invalid when absent).
struct StoredState {
  Fd channel, nodes, init, objects, passthrough, requests;
  bool any() const noexcept { return channel.valid() || nodes.valid() || init.valid(); }
};

// Whether a supervisor listens ($NOTIFY_SOCKET).
bool has_fd_store();
// Takes the fds passed to this process (once: the environment is cleared), close-on-exec.
StoredState take_stored();
// Hands fd to the store under name (replacing an fd of that name).
Result<void> store(std::string_view name, FdRef fd);
// Asks the store to close its fd of name.
Result<void> unstore(std::string_view name);
// Every fd this daemon stores, asked back: the connection is gone or must not be resumed.
void unstore_all();

}  // namespace confinefs::cmd
