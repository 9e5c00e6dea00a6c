// cmd/'s one error style: every start-up phase that cannot go on returns a Failure with the exit
// status it means and a message that says what and where; nothing is printed below main.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cmd/failure.h"
#include "cmd/logging.h"
#include "cmd/options.h"
#include "cmd/policy_source.h"
#include "cmd/privileges.h"

namespace confinefs::cmd {
namespace {

namespace fs = std::filesystem;

bool mentions(const Failure& f, const std::string& part) {
  return f.message.find(part) != std::string::npos;
}

Phase<std::vector<char*>> helper_args(std::vector<std::string>& words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return mount_helper_args(static_cast<int>(argv.size()), argv.data());
}

TEST(MountHelperArgs, DropsWhatMeansNothingHereAndKeepsTheRest) {
  std::vector<std::string> words = {"mount.confinefs", "/b", "/m", "-s", "-n", "-v", "-t",
                                    "fuse.confinefs",  "-o", "ro"};
  auto args = helper_args(words);
  ASSERT_TRUE(args.ok()) << args.error().message;
  std::vector<std::string> kept(args->begin(), args->end());
  EXPECT_EQ(kept, (std::vector<std::string>{"mount.confinefs", "/b", "/m", "-o", "ro"}));
}

TEST(MountHelperArgs, FakeMountAndNamespacesAreUsageErrors) {
  for (const char* unsupported : {"-f", "-N"}) {
    std::vector<std::string> words = {"mount.confinefs", "/b", "/m", unsupported};
    auto args = helper_args(words);
    ASSERT_FALSE(args.ok()) << unsupported;
    EXPECT_EQ(args.error().exit, Exit::kUsage);
    EXPECT_TRUE(mentions(args.error(), unsupported)) << args.error().message;
  }
}

TEST(LookupTenant, NoUserIsNoTenant) {
  auto t = lookup_tenant(std::nullopt, std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

TEST(LookupTenant, EachRefusalIsAUsageFailureThatSaysWhy) {
  struct Case {
    std::optional<std::string> user, group;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{{std::nullopt, "nogroup", "group= needs user="},
                                         {"no-such-user-xq", std::nullopt, "no-such-user-xq"},
                                         {"root", std::nullopt, "names root"},
                                         {"nobody", "no-such-group-xq", "no-such-group-xq"}}) {
    auto t = lookup_tenant(c.user, c.group);
    ASSERT_FALSE(t.ok()) << c.says;
    EXPECT_EQ(t.error().exit, Exit::kUsage);
    EXPECT_TRUE(mentions(t.error(), c.says)) << t.error().message;
  }
}

TEST(LookupTenant, AUserWithItsGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "user= needs root";
  auto t = lookup_tenant("nobody", "nogroup");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ(t.value()->name, "nobody");
  EXPECT_NE(t.value()->uid, 0u);
}

TEST(SetupLogging, AnUnknownLevelIsAUsageFailure) {
  auto ok = setup_logging("loud");
  ASSERT_FALSE(ok.ok());
  EXPECT_EQ(ok.error().exit, Exit::kUsage);
  EXPECT_TRUE(mentions(ok.error(), "loud"));
}

class PolicyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("confinefs-phases-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  Options with_policy(const std::string& text) {
    std::ofstream(dir_ / "p.yaml") << text;
    Options o;
    o.policy_file = (dir_ / "p.yaml").string();
    return o;
  }
  fs::path dir_;
};

TEST_F(PolicyFile, NoFileIsTheDefaultPolicy) {
  auto p = load_startup_policy(Options{});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.value()->has_rules());
}

TEST_F(PolicyFile, AnInvalidFileIsAUsageFailureWithItsPlace) {
  auto p = load_startup_policy(with_policy("version: 1\nrules: {path: /a}\n"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().exit, Exit::kUsage);
  EXPECT_TRUE(mentions(p.error(), "'rules' must be a list")) << p.error().message;
}

TEST_F(PolicyFile, AnAuditFileThatCannotBeOpenedIsFoundAtStart) {
  auto p = load_startup_policy(
      with_policy("version: 1\naudit: {sink: " + (dir_ / "missing/audit.log").string() + "}\n"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().exit, Exit::kUsage);
  EXPECT_TRUE(mentions(p.error(), "audit sink")) << p.error().message;
}

TEST_F(PolicyFile, RulesNeedABackingStoreThatKeepsNamesApart) {
  auto p = load_startup_policy(with_policy("version: 1\nrules:\n  - {path: /k, access: deny}\n"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(check_names_keep_rules(*p.value(), "/b", FilesystemConfig::Names::kDistinct).ok());
  for (auto names : {FilesystemConfig::Names::kFolded, FilesystemConfig::Names::kUnknown}) {
    auto refused = check_names_keep_rules(*p.value(), "/b", names);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().exit, Exit::kUsage);
    EXPECT_TRUE(mentions(refused.error(), "/b: "));
  }
  auto defaults = load_startup_policy(Options{});
  EXPECT_TRUE(
      check_names_keep_rules(*defaults.value(), "/b", FilesystemConfig::Names::kFolded).ok());
}

TEST(Report, GivesTheExitStatusOfTheFailure) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report(Failure::usage("bad option")), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "confinefs: bad option\n");
  EXPECT_EQ(report(Failure::runtime("lost")), 1);
}

}  // namespace
}  // namespace confinefs::cmd
