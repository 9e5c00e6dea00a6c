#include "fusefs/mount/filesystem.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace mount {

Filesystem::Filesystem(Resolver resolver, FilesystemConfig config,
                       std::shared_ptr<const policy::Policy> policy)
    : resolver_(std::move(resolver)),
      nodes_(
          InodeKey{resolver_.root_attr().st_dev, resolver_.root_attr().st_ino},
          [this] {
            auto dup = sys::dup(resolver_.root());
            return dup ? std::move(dup.value()) : Fd();
          }(),
          config.max_nodes),
      config_(config),
      policy_(policy::Policy::defaults()) {
  // cmd::load_startup_policy checked the audit sink already, so this fails only when the file
  // vanished since (denials then go to stderr) or the usage scan failed (quotas unenforced).
  if (auto ok = set_policy(policy); !ok) {
    spdlog::error("applying the policy: {}; audit to stderr, quotas not enforced",
                  std::strerror(ok.code()));
    std::atomic_store(&policy_, std::move(policy));
  }
}

namespace {

bool has_quota(const policy::Policy& p) {
  return p.limits().quota_bytes.has_value() || p.limits().quota_inodes.has_value();
}

}  // namespace

Result<void> Filesystem::set_policy(std::shared_ptr<const policy::Policy> p) {
  if (auto ok = audit_.configure(p->audit()); !ok) return ok;
  if (has_quota(*p)) {
    // A rescan on every reload lets an operator resynchronize after outside changes.
    auto totals = scan_usage(resolver_);
    if (!totals) return totals.error();
    if (!totals->complete) {
      // Threat 44: never lowered by what it could not see (a tenant hiding data from the scan).
      spdlog::warn(
          "quota: the usage scan could not see everything ({}); {} bytes and {} inodes counted, "
          "{}",
          totals->missed, totals->bytes, totals->inodes,
          usage_.tracking() ? "the counters in force are only ever raised by such a scan"
                            : "accounting starts from them");
    }
    usage_.start(totals.value());
  } else {
    usage_.stop();
  }
  std::atomic_store(&policy_, std::move(p));
  return {};
}

}  // namespace mount
}  // namespace confinefs
