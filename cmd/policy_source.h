// Where the daemon's policy comes from: the file named by -o policy= / --policy, or the defaults.
#pragma once

#include <memory>
#include <string>

#include "cmd/failure.h"
#include "cmd/options.h"
#include "fusefs/mount/filesystem.h"
#include "policy/policy.h"

namespace confinefs::cmd {

// The policy to start with: the file's, or the defaults without one. A file that does not load,
// or names an audit file that cannot be opened, is a usage Failure.
Phase<std::shared_ptr<const policy::Policy>> load_startup_policy(const Options& opts);
// SIGHUP: re-reads the file and swaps it in; an invalid file keeps the old policy.
void reload_policy(const Options& opts, Filesystem& fs);
// --check-policy FILE: prints the normalized policy (exit 0) or the error (exit 2).
int check_policy(const std::string& file);

// Rules cannot apply over a BACKING that folds case or normalizes names (or could not be
// probed): a rule written for one spelling would not hold for another (a usage Failure).
Phase<> check_names_keep_rules(const policy::Policy& policy, const std::string& backing,
                               FilesystemConfig::Names names);
// The reason check_names_keep_rules gives, also for a reload that brings rules.
std::string folding_refusal(const std::string& backing, FilesystemConfig::Names names);

}  // namespace confinefs::cmd
