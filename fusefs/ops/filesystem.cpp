#include "fusefs/ops/filesystem.h"

#include <spdlog/spdlog.h>

#include "fusefs/ops/log_escape.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {

Filesystem::Filesystem(Resolver resolver, FilesystemConfig config,
                       std::shared_ptr<const policy::Policy> policy)
    : resolver_(std::move(resolver)),
      nodes_(InodeKey{resolver_.root_attr().st_dev, resolver_.root_attr().st_ino},
             [this] {
               auto dup = sys::dup(resolver_.root());
               return dup ? std::move(dup.value()) : Fd();
             }(),
             config.max_nodes),
      config_(config),
      policy_(std::move(policy)) {}

Error Filesystem::refuse(const char* op, uint64_t node, std::string_view name,
                         const Error& error) {
  if (error.refusal == Refusal::kNone) return error;
  counters_.refusals.fetch_add(1, std::memory_order_relaxed);
  auto pol = policy();
  std::string where = nodes_.virtual_path(node);
  if (!name.empty()) {
    if (where.size() > 1) where += '/';
    where += name;
  }
  spdlog::warn("refused op={} tenant={} path={} reason={} errno={}", op, pol->tenant(),
               escape_for_log(where), refusal_name(error.refusal), error.code);
  return error;
}

}  // namespace confinefs
