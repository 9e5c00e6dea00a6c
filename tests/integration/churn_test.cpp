// Applications under churn: while an outside process exchanges a file's name with another one, or
// atomically replaces it (write a temporary file, rename it over the name) in a loop, a client
// opening the name for writing and for reading must see what a local filesystem gives, which is
// no error at all. The kernel's cached entry may name the file that was there a moment ago; the
// daemon finds it where it went (guards/current_name.h) or serves it as removed, and a stale chain
// under rules is ESTALE, which the kernel retries with a fresh lookup, not ENOENT.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

enum class Churn { kExchange, kReplace };

// The outside process: the name "a" changes inode continuously until stop, pausing pause_us
// after each replacement.
void churn(const fs::path& backing, Churn how, int pause_us, const std::atomic<bool>& stop) {
  std::string a = backing / "a", b = backing / "b", tmp = backing / "tmp";
  for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
    if (how == Churn::kExchange) {
      ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE);
    } else {
      write_file(tmp, "version " + std::to_string(i) + "\n");
      ::rename(tmp.c_str(), a.c_str());
      if (pause_us > 0) ::usleep(pause_us);
    }
  }
}

struct Tally {
  uint64_t calls = 0;
  std::map<std::string, uint64_t> errors;
  uint64_t failed() const {
    uint64_t n = 0;
    for (const auto& [name, count] : errors) n += count;
    return n;
  }
};

// write_text and read_text, as Python does them, for the given time.
Tally use(const fs::path& file, std::chrono::seconds duration) {
  Tally t;
  auto end = std::chrono::steady_clock::now() + duration;
  char buf[256];
  while (std::chrono::steady_clock::now() < end) {
    bool write = (t.calls++ % 2) == 0;
    int fd = ::open(file.c_str(), write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
    bool ok =
        fd >= 0 && (write ? ::write(fd, "results\n", 8) == 8 : ::read(fd, buf, sizeof buf) >= 0);
    if (!ok) ++t.errors[std::string(write ? "write: " : "read: ") + std::strerror(errno)];
    if (fd >= 0) ::close(fd);
  }
  return t;
}

std::string describe(const Tally& t) {
  std::string s = std::to_string(t.failed()) + " of " + std::to_string(t.calls) + " calls failed";
  for (const auto& [what, count] : t.errors) s += "; " + what + " x" + std::to_string(count);
  return s;
}

Tally under_churn(Mount& m, Churn how, int pause_us = 0) {
  write_file(m.backing() / "a", "first\n");
  write_file(m.backing() / "b", "second\n");
  std::atomic<bool> stop{false};
  std::thread outside(churn, m.backing(), how, pause_us, std::cref(stop));
  Tally t = use(m.mnt() / "a", std::chrono::seconds(3));
  stop = true;
  outside.join();
  return t;
}

// With no rules: the previous build failed 82 % of the calls under exchanges (ESTALE) and 0.4 %
// under replacements. An exchange loop at full speed can still move the file between every look
// a few times in a row, and keeps changing its ctime under a first open's proof (threat 42); a
// replaced file never fails (it is served as it was). A sanitized daemon is several times slower
// than the loop it races: measured 0 to 0.13 % (6 runs), where the build before current_name's
// look at the kernel's own name failed 0.35 to 2 % in 5 runs of 6; an unsanitized one stays
// under 0.1 %.
#ifdef __SANITIZE_ADDRESS__
constexpr uint64_t kOneFailureIn = 200;
#else
constexpr uint64_t kOneFailureIn = 1000;
#endif
TEST(Churn, AlmostNoCallFailsWhileTheNameIsExchanged) {
  Mount m;
  ASSERT_TRUE(m.ok());
  Tally t = under_churn(m, Churn::kExchange);
  EXPECT_LT(t.failed() * kOneFailureIn, t.calls) << describe(t);
}

TEST(Churn, NoCallFailsWhileTheFileIsReplaced) {
  Mount m;
  ASSERT_TRUE(m.ok());
  Tally t = under_churn(m, Churn::kReplace);
  EXPECT_EQ(t.failed(), 0u) << describe(t);
}

// With rules every decision re-checks the node's names, so a few calls may lose both the
// daemon's and the kernel's look (a file replaced between the kernel's fresh lookup and its
// open, a few microseconds (longer for a sanitized daemon): its content then belongs to no path).
// The previous build failed 95 % of the calls (exchange) and all but 3 (replace), with ENOENT.
class ChurnUnderRules : public ::testing::TestWithParam<Churn> {};

TEST_P(ChurnUnderRules, AlmostNoCallFails) {
  TempTree dir;
  fs::path policy = dir.path() / "policy.yaml";
  write_file(policy, "version: 1\ntenant: t\nrules:\n  - path: /secret\n    access: hidden\n");
  Mount m({"-o", "policy=" + policy.string()});
  ASSERT_TRUE(m.ok());
  // With a replacement every millisecond: still far faster than any editor or agent saves. A
  // sanitized daemon serves a request several times slower, so its race against the same loop is
  // a different one: there the loop replaces the file every 3 ms, as much faster than any saving
  // program relative to that daemon (at 1 ms, 10-12 % of its calls lost both looks under a loaded
  // CI run).
#ifdef __SANITIZE_ADDRESS__
  constexpr int kReplaceEveryUs = 3000;
#else
  constexpr int kReplaceEveryUs = 1000;
#endif
  Tally t = under_churn(m, GetParam(), kReplaceEveryUs);
  EXPECT_LT(t.failed() * 10, t.calls) << describe(t);
}

INSTANTIATE_TEST_SUITE_P(Both, ChurnUnderRules,
                         ::testing::Values(Churn::kExchange, Churn::kReplace));

}  // namespace
}  // namespace confinefs::testing
