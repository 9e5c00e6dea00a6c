// Request: the facts of one FUSE request, derived once by the FUSE adapter (fusefs/fuse/) and
// passed down by reference to the operation and every check it passes (policy gate, limits,
// refusal audit). Nothing below re-derives who asked or what for, or which policy is in force.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusefs/audit/event.h"
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

// Where a request acts, as the guard that entered it recorded it (ops/enter.h): the directory and
// name of a name operation, or the node itself (name empty). The audit point names refusals by it.
struct Site {
  uint64_t node = 0;
  std::string_view name;  // the client's buffer, alive until the request is answered
};

// What a guard decided about a request, kept until the audit point (guards/audit.h) writes it:
// the decision is made deep in a guard, the line is written once. A refusal (kPolicy, kLimit,
// kStale, with an Error{..., Refusal::kDenied}; kEscape for a path no site names) or, under
// audit.log_allowed_mutations, a decision that allowed a change (kAllowed).
struct Verdict {
  audit::Kind kind = audit::Kind::kPolicy;
  std::string path;         // the path decided on; kLimit: empty (the Site's)
  std::string target;       // kPolicy of a rename: the destination path
  std::string_view access;  // kPolicy: the access decided
  int rule = -1;            // kPolicy: the rule's index, -1 for the mount-wide mode
  std::string_view reason;  // kLimit: which limit (a literal)
};

struct Request {
  Request(Filesystem& fs_, Caller caller_, Op op_, uint64_t id_ = 0)
      : fs(fs_), caller(caller_), op(op_), id(id_), policy(fs_.policy()) {}

  Filesystem& fs;
  Caller caller;  // the calling process, as the kernel reported it
  Op op;
  uint64_t id = 0;  // the kernel's unique id of the request (0 when a test builds one)
  // The policy in force when the request arrived, taken once: a reload never straddles a request
  // (one decision made under the old rules, the next under the new).
  std::shared_ptr<const policy::Policy> policy;
  // resume=on: the kernel's unique id of the request, without its resend bit (0: a request the
  // daemon makes itself, or a test's), and what a predecessor daemon began for this very request
  // before it died, when the kernel resent it (mount/attempt_log.h, ops/replay.h).
  uint64_t unique = 0;
  std::optional<Attempt> past;
  // Set when the request recorded a change it began (ops/replay.h): its answer records the result.
  mutable bool began = false;

  // Filled as the request is served; read by the audit point only.
  mutable std::array<Site, 2> sites{};    // [1]: a rename's destination
  mutable std::optional<Verdict> denial;  // set with an Error{..., Refusal::kDenied}
  // audit.log_allowed_mutations: the decisions that allowed this request's changes, written
  // only if it succeeds (an allowed line never precedes the same request's refusal).
  mutable std::vector<Verdict> allowed;

  const char* op_name() const noexcept { return confinefs::op_name(op); }
  audit::Client client() const noexcept { return {caller.pid, caller.uid, caller.gid}; }
};

}  // namespace mount
}  // namespace confinefs
