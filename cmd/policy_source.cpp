#include "cmd/policy_source.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "fusefs/audit/audit_log.h"
#include "policy/loader.h"
#include "policy/summary.h"

namespace confinefs::cli {
namespace {

// A file sink that cannot be opened is a configuration error like a bad key: found at start
// (exit 2, nothing mounted), not after the first denial.
bool audit_sink_usable(const policy::Policy& p, const std::string& file) {
  if (p.audit().sink != policy::AuditSink::kFile) return true;
  auto fd = audit::open_audit_file(p.audit().file);
  if (fd) return true;
  std::fprintf(stderr, "confinefs: %s: audit sink %s: %s\n", file.c_str(), p.audit().file.c_str(),
               std::strerror(fd.code()));
  return false;
}

}  // namespace

std::shared_ptr<const policy::Policy> load_startup_policy(const Options& opts) {
  if (!opts.policy_file) return policy::Policy::defaults();
  auto loaded = policy::load_policy_file(*opts.policy_file);
  if (!loaded.ok()) {
    std::fprintf(stderr, "confinefs: %s\n", loaded.error.to_string().c_str());
    return nullptr;
  }
  if (!audit_sink_usable(*loaded.policy, *opts.policy_file)) return nullptr;
  spdlog::info("policy {}: tenant={} rules={}", *opts.policy_file, loaded.policy->tenant(),
               loaded.policy->rules().size());
  return loaded.policy;
}

void reload_policy(const Options& opts, Filesystem& fs) {
  if (!opts.policy_file) {
    spdlog::info("SIGHUP: no policy file; keeping the default policy");
    return;
  }
  auto loaded = policy::load_policy_file(*opts.policy_file);
  if (!loaded.ok()) {
    spdlog::error("SIGHUP: keeping the policy in force: {}", loaded.error.to_string());
    return;
  }
  if (auto ok = fs.set_policy(loaded.policy); !ok) {
    spdlog::error("SIGHUP: keeping the policy in force: {}: audit sink or usage scan: {}",
                  *opts.policy_file, std::strerror(ok.code()));
    return;
  }
  spdlog::info("SIGHUP: policy {} reloaded: tenant={} rules={}", *opts.policy_file,
               loaded.policy->tenant(), loaded.policy->rules().size());
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

}  // namespace confinefs::cli
