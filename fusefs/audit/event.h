// Audit events: one JSON line per denial (and, optionally, per allowed mutation).
// Threat (threat 16): names come from clients and from the backing directory, so every string
// is escaped here; a crafted name can neither break the JSON nor forge another line.
// Pure formatting, no I/O: tests/unit/audit_test.cpp checks it byte for byte.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace confinefs::audit {

// What decided the outcome.
enum class Kind : unsigned char {
  kPolicy,   // a rule or the mount-wide mode
  kLimit,    // limits: quota, file size, name length; create.allow_chown; xattrs.namespaces
  kEscape,   // a refusal that looks like an escape attempt (symlink, hardlink, swap, ...)
  kStale,    // a name the kernel cached that no longer leads to the node (outside rename)
  kAllowed,  // an allowed mutation (audit.log_allowed_mutations)
};
const char* kind_name(Kind k) noexcept;

// The client process, from the FUSE request.
struct Client {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Event {
  Kind kind = Kind::kPolicy;
  std::string_view op;      // "open", "rename", ...
  std::string_view path;    // virtual path from the mount root
  int code = 0;             // errno returned to the client (0 for kAllowed)
  std::string_view access;  // decided access word (kPolicy), empty otherwise
  int rule = -1;            // index into the policy's rules, -1 for the mode or none
  std::string_view glob;    // the rule's glob as written, when rule >= 0
  int line = 0;             // the rule's line in the policy file, when known
  std::string_view reason;  // kEscape: refusal name; kLimit: which limit
  std::string_view target;  // rename: the destination path
  Client client;
};

// Appends s as a JSON string body (without quotes). Control characters, '"', '\\', DEL and every
// byte >= 0x80 become \u00XX, one per byte, so any name (even invalid UTF-8) gives valid JSON.
void append_json_string(std::string* out, std::string_view s);

// RFC 3339 UTC with microseconds: "2024-05-01T12:00:00.123456Z".
std::string format_time(std::chrono::system_clock::time_point t);

// One line, '\n'-terminated.
std::string format_event(const Event& e, std::string_view tenant,
                         std::chrono::system_clock::time_point now);
// The line written when events resume after the rate limiter dropped some.
std::string format_suppressed(uint64_t count, std::string_view tenant,
                              std::chrono::system_clock::time_point now);

}  // namespace confinefs::audit
