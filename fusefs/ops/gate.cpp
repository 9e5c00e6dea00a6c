#include "fusefs/ops/gate.h"

#include <spdlog/spdlog.h>

#include "fusefs/ops/log_escape.h"

namespace confinefs {
namespace {

using policy::Access;

std::string path_of(Filesystem& fs, uint64_t node, std::string_view child) {
  std::string path = fs.nodes().virtual_path(node);
  if (!child.empty()) {
    if (path.size() > 1) path += '/';
    path += child;
  }
  return path;
}

int errno_for(Access access, Intent intent) {
  switch (access) {
    case Access::kHidden: return intent == Intent::kCreate ? EACCES : ENOENT;
    case Access::kDeny: return EACCES;
    case Access::kReadOnly:
      return (intent == Intent::kModify || intent == Intent::kCreate) ? EROFS : 0;
    case Access::kReadWrite: return 0;
  }
  return EACCES;
}

}  // namespace

Result<void> gate(Filesystem& fs, const Caller& caller, const char* op, uint64_t node,
                  const Name* child, Intent intent) {
  auto pol = fs.policy();
  // Fast path: without rules the answer depends only on the mount-wide mode.
  if (!pol->has_rules()) {
    if (pol->mode() == Access::kReadWrite || intent == Intent::kSee || intent == Intent::kRead) {
      return {};
    }
  }
  std::string path = path_of(fs, node, child ? child->view() : std::string_view());
  policy::Decision d = pol->decide(path);
  int code = errno_for(d.access, intent);
  if (code == 0) return {};
  fs.counters().denials.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("denied op={} tenant={} path={} access={} rule={} errno={} pid={} uid={}", op,
               pol->tenant(), escape_for_log(path), policy::access_name(d.access), d.rule, code,
               caller.pid, caller.uid);
  return Error{code};
}

bool hidden_from_listing(Filesystem& fs, uint64_t dir, std::string_view name) {
  auto pol = fs.policy();
  if (!pol->has_rules()) return false;
  return pol->decide(path_of(fs, dir, name)).access == Access::kHidden;
}

}  // namespace confinefs
