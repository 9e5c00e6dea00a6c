// Exactly once across a crash (mount/attempt_log.h). An operation whose change cannot be made
// twice with one result records, just before its first change to the host, what it is about to
// change (begin_change); its answer records the result (ops/outcome.h). When the kernel resends
// the request to a successor daemon (r.past), the operation first asks here what became of it:
// the recorded answer when the change was made, "serve it" when it was not, and EIO audited as
// undecided when the host shows neither. A resent request is entered and checked like any other
// (a replayed create does not follow a name swapped in meanwhile): these steps only decide
// whether to serve it, and an answer built from what the predecessor made is a lookup or an open
// of its own, with every check.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "fusefs/guards/gate.h"
#include "fusefs/mount/request.h"
#include "fusefs/ops/ops.h"

namespace confinefs::ops {

// What became of the change a predecessor began for a resent request; an error instead is the
// request's answer (the one recorded, or EIO undecided).
enum class Fate : unsigned char {
  kServe,     // not made (or made twice with one result): serve the request as a new one
  kHappened,  // made: answer as if this daemon had just made it
};

// A new record of r's change: its operation, and when it began.
Attempt change_of(const Request& r);
// Records that r is about to change the host (nothing without resume=on).
void begin_change(const Request& r, const Attempt& attempt);
// Records that r is about to remove the name that holds st.
void begin_removal(const Request& r, const struct stat& st);
// Records that r is about to create or remove the attribute name of the file open as fd, and
// whether it exists now.
void begin_attribute_change(const Request& r, FdRef fd, const char* name);
// Records that r is about to move the end of the file open as file (an append, a shift).
void begin_size_change(const Request& r, const OpenFile& file);
inline InodeKey key_of(const struct stat& st) { return InodeKey{st.st_dev, st.st_ino}; }

// The inode at place now; nullopt when the name is free.
Result<std::optional<InodeKey>> identity_at(const Request& r, const guards::Place& place);

// unlink, rmdir.
Result<Fate> removal_fate(const Request& r, const guards::Place& place);
Result<Fate> rename_fate(const Request& r, const guards::Place& from, const guards::Place& to,
                         unsigned flags);
// mkdir, mknod, symlink, create: kHappened when the name holds what the predecessor made.
Result<Fate> made_fate(const Request& r, const guards::Place& place, NodeType type);
// setxattr with XATTR_CREATE (value, size), removexattr (value null).
Result<Fate> attribute_fate(const Request& r, FdRef fd, const char* name, const void* value,
                            size_t size);
// An O_APPEND write of data, or a fallocate that shifts the file's end (collapse, insert).
Result<Fate> append_fate(const Request& r, const OpenFile& file, const void* data, size_t size);
Result<Fate> shift_fate(const Request& r, const OpenFile& file, int mode, off_t length);

}  // namespace confinefs::ops
