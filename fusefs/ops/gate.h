// Policy gate: the tenant's rules applied to the virtual path this daemon resolved itself,
// component by component. No host path string is consulted, so a symlink or rename raced into
// the backing directory cannot steer a request past a rule.
#pragma once

#include "fusefs/ops/filesystem.h"
#include "fusefs/resolve/name.h"

namespace confinefs {

enum class Intent : unsigned char {
  kSee,     // lookup, getattr: hidden -> ENOENT, deny -> EACCES
  kRead,    // open for reading, readdir, getxattr
  kModify,  // write-open, setattr, xattr changes, unlink, rename away
  kCreate,  // a new name: create, mkdir, mknod, rename onto
};

// Decides for node (child == nullptr) or for the entry child inside directory node.
Result<void> gate(Filesystem& fs, const Caller& caller, const char* op, uint64_t node,
                  const Name* child, Intent intent);

// True when the policy hides node/child from listings.
bool hidden_from_listing(Filesystem& fs, uint64_t dir, std::string_view name);

}  // namespace confinefs
