// Where a node is now in the directory it was last resolved in. An outside process may exchange
// or rename entries at any instant; a file the kernel knows as /a that now sits at /b is still a
// single name inside BACKING, and requests on it are decided and verified there rather than
// failed: an application racing such churn sees what it would see on a local filesystem (the
// file as it was just before the rename), not ESTALE.
#pragma once

#include <sys/stat.h>

#include <string>

#include "fusefs/mount/filesystem.h"
#include "fusefs/nodes/node.h"

namespace confinefs::guards {

struct CurrentName {
  NodeRef parent;  // the directory the name was found in
  std::string name;
  struct stat attr;  // what the name shows now: the node's inode
};

// True when the node's inode has no name left anywhere (st_nlink 0): replaced by a rename or
// removed since the kernel looked it up. A name cannot be given back to it (linkat of an
// unlinked inode needs an O_TMPFILE).
bool nameless(const Node& node);

// The node's recorded name when it still leads to the node's inode, else the first name found
// leading to it in a bounded scan of the directory; ENOENT when the node is nameless(), ESTALE
// when no name leads to it otherwise (moved to another directory, or the directory is gone).
Result<CurrentName> current_name(Filesystem& fs, const Node& node);

}  // namespace confinefs::guards
