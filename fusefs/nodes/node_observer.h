// NodeObserver: what the node table tells whoever keeps its nodes outside it (the node journal,
// nodes/node_journal.h). The table calls it after each change, with its lock held, so the
// observer sees the changes in the order they were made and must neither block nor call back.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fusefs/nodes/node.h"

namespace confinefs {
inline namespace nodes {

class NodeObserver {
 public:
  virtual ~NodeObserver() = default;
  // Whether one more node can be kept: the table refuses a new node (ENFILE) otherwise.
  virtual bool has_room() const noexcept = 0;
  // A node is new, or its place (node.place()) or state changed.
  virtual void changed(const Node& node) noexcept = 0;
  // A node left the table.
  virtual void released(const Node& node) noexcept = 0;
  // Ids up to next_id - 1 were handed out: never hand them out again.
  virtual void ids_below(uint64_t next_id) noexcept = 0;
};

// What a predecessor daemon left: its nodes the kernel may still hold (recorded nodes), and the
// first id it never handed out.
struct Predecessor {
  std::vector<std::shared_ptr<Node>> nodes;
  uint64_t next_id = 0;
};

}  // namespace nodes
}  // namespace confinefs
