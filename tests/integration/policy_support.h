// Shared by the policy_*_test.cpp files: a real mount started with a policy file.
// The policy file lives in its own TempTree (the Mount's tree is made inside Mount), written
// before the daemon starts; cache=strict so every probe reaches the daemon.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {

// errno of a call that returns -1 on failure; 0 on success.
template <typename F>
int errno_of(F&& call) {
  errno = 0;
  return call() < 0 ? errno : 0;
}

inline int stat_errno(const fs::path& p) {
  struct stat st {};
  return errno_of([&] { return ::lstat(p.c_str(), &st); });
}

class PolicyMount {
 public:
  // yaml is the policy file's text; extra goes to the daemon's command line.
  explicit PolicyMount(const std::string& yaml, std::vector<std::string> extra = {})
      : policy_file_(files_.path() / "policy.yaml") {
    write_file(policy_file_, yaml);
    std::vector<std::string> args = {"-o", "policy=" + policy_file_.string(), "-o", "cache=strict"};
    args.insert(args.end(), extra.begin(), extra.end());
    mount_ = std::make_unique<Mount>(args);
  }

  Mount& m() { return *mount_; }
  fs::path mnt(const std::string& rel = "") const { return mount_->mnt() / rel; }
  fs::path backing(const std::string& rel = "") const { return mount_->backing() / rel; }
  const fs::path& files() const { return files_.path(); }
  const fs::path& policy_file() const { return policy_file_; }

  // Rewrites the policy file, sends SIGHUP and waits until `confinefs status` counts the reload
  // as done (applied or refused).
  void reload(const std::string& yaml) {
    write_file(policy_file_, yaml);
    uint64_t before = reloads_done(mnt());
    mount_->signal_daemon(SIGHUP);
    EXPECT_TRUE(eventually([&] { return reloads_done(mnt()) > before; }))
        << "the daemon never finished the reload";
  }

 private:
  TempTree files_;
  fs::path policy_file_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace confinefs::testing
