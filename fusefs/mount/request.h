// Request: the facts of one FUSE request, derived once by the FUSE adapter (fusefs/fuse/) and
// passed down by reference to the operation and every check it passes (policy gate, limits,
// refusal audit). Nothing below re-derives who asked or what for.
#pragma once

#include <cstdint>

#include "fusefs/mount/filesystem.h"

namespace confinefs {
inline namespace mount {

// The FUSE operation a request is, as audit lines and logs name it (op_name).
enum class Op : unsigned char {
  kLookup,
  kForget,
  kGetattr,
  kSetattr,
  kMknod,
  kMkdir,
  kUnlink,
  kRmdir,
  kSymlink,
  kReadlink,
  kLink,
  kRename,
  kOpen,
  kCreate,
  kWrite,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kStatfs,
  kSetxattr,
  kGetxattr,
  kListxattr,
  kRemovexattr,
  kAccess,
  kFallocate,
  kCopyFileRange,
};

const char* op_name(Op op) noexcept;

struct Request {
  Filesystem& fs;
  Caller caller;  // the calling process, as the kernel reported it
  Op op;
  uint64_t id = 0;  // the kernel's unique id of the request (0 when a test builds one)

  const char* op_name() const noexcept { return confinefs::op_name(op); }
  audit::Client client() const noexcept { return {caller.pid, caller.uid, caller.gid}; }
};

}  // namespace mount
}  // namespace confinefs
