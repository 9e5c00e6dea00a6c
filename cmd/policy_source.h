// Where the daemon's policy comes from: the file named by -o policy= / --policy, or the defaults.
#pragma once

#include <memory>
#include <string>

#include "cmd/options.h"
#include "fusefs/mount/filesystem.h"
#include "policy/policy.h"

namespace confinefs::cmd {

// The policy to start with; nullptr after printing a one-line error (exit status 2).
std::shared_ptr<const policy::Policy> load_startup_policy(const Options& opts);
// SIGHUP: re-reads the file and swaps it in; an invalid file keeps the old policy.
void reload_policy(const Options& opts, Filesystem& fs);
// --check-policy FILE: prints the normalized policy (exit 0) or the error (exit 2).
int check_policy(const std::string& file);

// Why rules cannot apply over BACKING: it folds case or normalizes names (or could not be
// probed), so a rule written for one spelling would not hold for another.
std::string folding_refusal(const std::string& backing, FilesystemConfig::Names names);

}  // namespace confinefs::cmd
