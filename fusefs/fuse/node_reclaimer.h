// NodeReclaimer: keeps the node table, and with it the daemon's open fds (one O_PATH fd per node
// the kernel knows), under a budget. The kernel decides when it forgets inodes; on a host with
// plenty of memory it may keep every name a tenant ever touched, and the daemon would run out of
// descriptors (EMFILE on lookups) long before the kernel runs out of memory. When the table
// reaches the high mark, this thread asks the kernel to drop the entries of the oldest nodes;
// the unused ones come back as FORGETs and their fds close. Entries in use (open files, working
// directories) stay; the next access to a dropped name is an ordinary, verified, LOOKUP.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "fusefs/fuse/session.h"
#include "fusefs/lock_order.h"
#include "fusefs/nodes/node_table.h"

namespace confinefs::fuse {

struct NodeBudget {
  size_t high = 0;  // reclaiming starts when the table reaches this many nodes
  size_t low = 0;   // and stops below this many
};

// The budget for a daemon allowed max_nodes nodes and open_files descriptors. Nodes are kept to
// three quarters of the smaller, so a quarter of the descriptors stays for open files,
// directories, pipes and the FUSE channels.
NodeBudget node_budget(size_t max_nodes, size_t open_files);

class NodeReclaimer {
 public:
  NodeReclaimer(Session& session, NodeTable& nodes, NodeBudget budget);
  ~NodeReclaimer();  // stops the thread; the table must outlive it
  NodeReclaimer(const NodeReclaimer&) = delete;
  NodeReclaimer& operator=(const NodeReclaimer&) = delete;

 private:
  void run(const std::stop_token& stop);
  // Invalidates the oldest entries until the table is under the low mark (true) or nothing more
  // is being forgotten (false).
  bool shrink(const std::stop_token& stop);
  void pause(const std::stop_token& stop, std::chrono::milliseconds how_long);

  Session& session_;
  NodeTable& nodes_;
  const NodeBudget budget_;
  OrderedMutex<LockLevel::kReclaimer> mutex_;  // taken under the table's, never around it
  std::condition_variable_any wake_;
  bool pressure_ = false;  // guarded by mutex_
  std::jthread thread_;    // last: started once everything above exists
};

}  // namespace confinefs::fuse
