#include "cmd/policy_source.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace confinefs::cli {

std::shared_ptr<const policy::Policy> load_startup_policy(const Options& opts) {
  if (!opts.policy_file) return policy::Policy::defaults();
  std::fprintf(stderr, "confinefs: policy files are not supported by this build yet\n");
  return nullptr;
}

void reload_policy(const Options& opts, Filesystem& fs) {
  (void)fs;
  if (!opts.policy_file) {
    spdlog::info("SIGHUP: no policy file; keeping the default policy");
    return;
  }
}

int check_policy(const std::string& file) {
  std::fprintf(stderr, "confinefs: %s: policy files are not supported by this build yet\n",
               file.c_str());
  return 2;
}

}  // namespace confinefs::cli
