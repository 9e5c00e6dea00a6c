#include "cmd/policy_source.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "fusefs/audit/audit_log.h"
#include "policy/loader.h"
#include "policy/summary.h"

namespace confinefs::cmd {
namespace {

// A file sink that cannot be opened is a configuration error like a bad key: found at start
// (exit 2, nothing mounted), not after the first denial.
Phase<> check_audit_sink(const policy::Policy& p, const std::string& file) {
  if (p.audit().sink != policy::AuditSink::kFile) return {};
  auto fd = audit::open_audit_file(p.audit().file);
  if (fd) return {};
  return Failure::usage(with_errno(file + ": audit sink " + p.audit().file, fd.code()));
}

}  // namespace

Phase<std::shared_ptr<const policy::Policy>> load_startup_policy(const Options& opts) {
  if (!opts.policy_file) return policy::Policy::defaults();
  auto loaded = policy::load_policy_file(*opts.policy_file);
  if (!loaded.ok()) return Failure::usage(loaded.error.to_string());
  if (auto ok = check_audit_sink(*loaded.policy, *opts.policy_file); !ok) return ok.error();
  spdlog::info("policy {}: tenant={} rules={}", *opts.policy_file, loaded.policy->tenant(),
               loaded.policy->rules().size());
  return loaded.policy;
}

Phase<> check_names_keep_rules(const policy::Policy& policy, const std::string& backing,
                               FilesystemConfig::Names names) {
  if (!policy.has_rules() || names == FilesystemConfig::Names::kDistinct) return {};
  return Failure::usage(folding_refusal(backing, names));
}

std::string folding_refusal(const std::string& backing, FilesystemConfig::Names names) {
  return backing +
         (names == FilesystemConfig::Names::kFolded
              ? ": this filesystem treats names that differ in case or Unicode normalization as "
                "one, so rules (which match names byte for byte) could be passed by another "
                "spelling; use a policy without rules, or a backing store that keeps names apart"
              : ": cannot tell whether this filesystem folds case (the probe file could not be "
                "made), and rules need a backing store that keeps names apart");
}

namespace {

// The reload itself; true when the new policy is in force.
bool apply_reload(const Options& opts, Filesystem& fs) {
  if (!opts.policy_file) {
    spdlog::info("SIGHUP: no policy file; keeping the default policy");
    return false;
  }
  auto loaded = policy::load_policy_file(*opts.policy_file);
  if (!loaded.ok()) {
    spdlog::error("SIGHUP: keeping the policy in force: {}", loaded.error.to_string());
    return false;
  }
  if (loaded.policy->has_rules() && fs.config().names != FilesystemConfig::Names::kDistinct) {
    spdlog::error("SIGHUP: keeping the policy in force: {}",
                  folding_refusal(opts.backing, fs.config().names));
    return false;
  }
  if (auto ok = fs.set_policy(loaded.policy); !ok) {
    spdlog::error("SIGHUP: keeping the policy in force: {}: audit sink or usage scan: {}",
                  *opts.policy_file, std::strerror(ok.code()));
    return false;
  }
  spdlog::info("SIGHUP: policy {} reloaded: tenant={} rules={}", *opts.policy_file,
               loaded.policy->tenant(), loaded.policy->rules().size());
  return true;
}

}  // namespace

void reload_policy(const Options& opts, Filesystem& fs) {
  // Counted either way, after the outcome: `confinefs status` shows a reload as done (tests and
  // operators wait for the count to move instead of guessing how long a rescan takes).
  auto& counter = apply_reload(opts, fs) ? fs.counters().reloads : fs.counters().reloads_refused;
  counter.fetch_add(1, std::memory_order_release);
}

int check_policy(const std::string& file) {
  auto loaded = policy::load_policy_file(file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error.to_string().c_str());
    return 2;
  }
  std::cout << policy::summarize(*loaded.policy) << std::flush;
  return 0;
}

}  // namespace confinefs::cmd
