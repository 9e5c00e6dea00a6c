// Verification before use (threats 5, 6, 9, 14).
// A node's O_PATH handle pins the inode it was looked up as; every read, write, truncate or
// metadata change goes through an fd reopened from that handle and checked here with fstat:
// same type, same (dev, ino), and for regular files a single link ever seen, because a second
// name may be a hardlink to a file outside the backing directory, and its recorded name still
// naming it with a single link, checked before the open and again after it. A link count alone
// is raced by unlink(2) (threat 42): before a node's first open, verify.cpp proves once, under
// the directory's lock and the inode's ctime, that the name was the inode's only one.
#pragma once

#include "fusefs/mount/filesystem.h"
#include "fusefs/mount/request.h"
#include "fusefs/nodes/node.h"

namespace confinefs::guards {

enum class Purpose : unsigned char {
  kRead,      // reading content or attributes that are not plain stat (xattrs)
  kWrite,     // changing content
  kMetadata,  // chmod, chown, utimens, xattr changes
};

// Checks attributes read from an fd against the node it must be.
Result<void> verify_identity(const Request& r, const Node& node, const struct stat& st,
                             Purpose purpose);

// Reopens the node's inode with flags (O_NONBLOCK is added, and cleared again after the checks
// unless the client asked for it) and verifies it.
Result<Fd> open_verified(const Request& r, const Node& node, int flags, Purpose purpose,
                         struct stat* attr = nullptr);

}  // namespace confinefs::guards
