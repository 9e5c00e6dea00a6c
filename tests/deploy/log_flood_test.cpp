// The daemon's log under a flood of refusals (threat 23): a sandbox that provokes refusals in a
// loop gets a bounded number of lines on stderr (the journal under systemd) and a count of the
// ones left out, not one line per request.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

#include "tests/deploy/daemon.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

using LogFlood = DaemonTest;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(LogFlood, RefusalLinesAreRateLimitedWithACountOfTheRest) {
  ASSERT_EQ(::symlink("/etc/passwd", (backing_ / "link").c_str()), 0);
  // cache=strict: every lstat is a LOOKUP the daemon refuses (no cached negative entry).
  Daemon d(args({"-o", "cache=strict"}));
  ASSERT_TRUE(wait_mounted(mnt_)) << d.log();
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int requests = 0;
  for (; std::chrono::steady_clock::now() < end; ++requests) {
    struct stat st {};
    ::lstat((mnt_ / "link").c_str(), &st);
  }
  ASSERT_GT(requests, 2000);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0);
  std::string log = d.log();
  size_t lines = count(log, "refused op=lookup");
  EXPECT_GT(lines, 0u);
  // A burst of 200, then 20 a second (fusefs/audit/log_limit.cpp), over about 3 s.
  EXPECT_LT(lines, 200u + 20u * 5) << requests << " refusals";
  EXPECT_GT(count(log, "similar denial or refusal lines suppressed"), 0u) << log.substr(0, 2000);
}

}  // namespace
}  // namespace confinefs::testing
