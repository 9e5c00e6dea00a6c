// Through a real mount: hot reload on SIGHUP (a valid file applies to the next operation; an
// invalid one keeps the old policy, the daemon alive and the mount intact), start-up errors, and
// `confinefs --check-policy` on every example and on a broken file.
#include <sys/wait.h>

#include <cstdio>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

const fs::path kExamples = fs::path(__FILE__).parent_path() / "../../docs/examples";

// Runs confinefs with args; returns its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> run_confinefs(const std::vector<std::string>& args) {
  std::string cmd = confinefs_binary();
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(PolicyReloadTest, ValidFileAppliesToTheNextOperation) {
  PolicyMount p("version: 1\n");
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("secret"));
  write_file(p.backing("secret/s"), "S");
  EXPECT_EQ(read_file(p.mnt("secret/s")), "S");
  p.reload("version: 1\nrules:\n  - {path: /secret, access: hidden}\n");
  EXPECT_EQ(stat_errno(p.mnt("secret")), ENOENT);
  EXPECT_EQ(names_in(p.mnt()).count("secret"), 0u);
  p.reload("version: 1\nmode: read-only\n");
  EXPECT_EQ(read_file(p.mnt("secret/s")), "S");
  EXPECT_EQ(open_errno(p.mnt("new"), O_WRONLY | O_CREAT), EROFS);
}

TEST(PolicyReloadTest, InvalidFileKeepsTheOldPolicyAndTheMount) {
  PolicyMount p("version: 1\nrules:\n  - {path: /secret, access: hidden}\n");
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("secret"));
  write_file(p.mnt("kept"), "k");
  p.reload("version: 1\nrules:\n  - {path: /secret, access: hiden}\n");
  EXPECT_TRUE(p.m().signal_daemon(0)) << "the daemon must survive";
  EXPECT_TRUE(is_mounted(p.m().mnt()));
  EXPECT_EQ(stat_errno(p.mnt("secret")), ENOENT) << "the old rules stay in force";
  EXPECT_EQ(read_file(p.mnt("kept")), "k");
  p.reload("not: [valid");
  EXPECT_TRUE(is_mounted(p.m().mnt()));
  EXPECT_EQ(stat_errno(p.mnt("secret")), ENOENT);
}

TEST(PolicyStartTest, InvalidPolicyExitsTwoWithPositionAndMountsNothing) {
  TempTree t;
  fs::path file = t.path() / "bad.yaml";
  write_file(file, "version: 1\nmode: read-write\nrules:\n  - {path: /a, access: readonly}\n");
  fs::create_directories(t.path() / "b");
  fs::create_directories(t.path() / "m");
  auto [status, out] = run_confinefs({"-f", "-o", "policy=" + file.string(),
                                      (t.path() / "b").string(), (t.path() / "m").string()});
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find(file.string() + ":4:"), std::string::npos) << out;
  EXPECT_FALSE(is_mounted(t.path() / "m"));
}

TEST(PolicyCheckTest, EveryExampleIsValid) {
  size_t checked = 0;
  for (const auto& e : fs::directory_iterator(kExamples)) {
    if (e.path().extension() != ".yaml") continue;
    auto [status, out] = run_confinefs({"--check-policy", e.path().string()});
    EXPECT_EQ(status, 0) << e.path() << "\n" << out;
    EXPECT_NE(out.find("version: 1"), std::string::npos) << out;
    ++checked;
  }
  EXPECT_GE(checked, 3u);
}

TEST(PolicyCheckTest, BrokenFileIsExitTwoWithLineAndColumn) {
  TempTree t;
  fs::path file = t.path() / "broken.yaml";
  write_file(file, "version: 1\nlimits:\n  max_file_size: 10X\n");
  auto [status, out] = run_confinefs({"--check-policy", file.string()});
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find(file.string() + ":3:18:"), std::string::npos) << out;
}

}  // namespace
}  // namespace confinefs::testing
