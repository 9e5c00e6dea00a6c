// Every example under docs/examples/ must load, and behave as its comments say.
#include <gtest/gtest.h>

#include <filesystem>

#include "policy/loader.h"
#include "policy/summary.h"

namespace confinefs::policy {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const Policy> load_example(const std::string& name) {
  LoadResult r = load_policy_file(std::string(CONFINEFS_EXAMPLES_DIR) + "/" + name);
  EXPECT_TRUE(r.ok()) << r.error.to_string();
  return r.policy ? r.policy : Policy::defaults();
}

TEST(Examples, EveryExampleLoadsAndSummarizes) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(CONFINEFS_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    LoadResult r = load_policy_file(entry.path());
    ASSERT_TRUE(r.ok()) << r.error.to_string();
    LoadResult again = load_policy_string(summarize(*r.policy), "summary");
    EXPECT_TRUE(again.ok()) << again.error.to_string();
  }
  EXPECT_GE(count, 3);
}

TEST(Examples, AgentWorkspace) {
  auto p = load_example("agent-workspace.yaml");
  EXPECT_EQ(p->decide("/inputs/task.md").access, Access::kReadOnly);
  EXPECT_EQ(p->decide("/inputs/scratch/notes").access, Access::kReadWrite);
  EXPECT_EQ(p->decide("/secrets").access, Access::kHidden);
  EXPECT_EQ(p->decide("/secrets/token").access, Access::kHidden);
  EXPECT_EQ(p->decide("/src/server.pem").access, Access::kDeny);
  EXPECT_EQ(p->decide("/inputs/certs/ca.pem").access, Access::kDeny);
  EXPECT_EQ(p->decide("/repo/.git/hooks/pre-commit").access, Access::kReadOnly);
  EXPECT_EQ(p->decide("/src/main.c").access, Access::kReadWrite);
  EXPECT_FALSE(p->rename_keeps_access("/inputs/a", "/src/a"));
}

TEST(Examples, ReadonlyDataset) {
  auto p = load_example("readonly-dataset.yaml");
  EXPECT_EQ(p->mode(), Access::kReadOnly);
  EXPECT_EQ(p->hardlinks(), HardlinkMode::kReadOnly);
  EXPECT_EQ(p->decide("/images/1.png").access, Access::kReadOnly);
  EXPECT_EQ(p->decide("/restricted/x").access, Access::kDeny);
  EXPECT_EQ(p->decide("/images/.staging/part").access, Access::kHidden);
  EXPECT_FALSE(p->xattr_allowed("user.x"));
}

TEST(Examples, ScratchQuota) {
  auto p = load_example("scratch-quota.yaml");
  EXPECT_EQ(p->limits().max_file_size, 1ull << 30);
  EXPECT_EQ(p->limits().quota_bytes, 20ull << 30);
  EXPECT_EQ(p->limits().quota_inodes, 500000u);
  EXPECT_EQ(p->limits().max_name_length, 200u);
  EXPECT_EQ(p->create().umask, 077u);
  EXPECT_EQ(p->decide("/cache/pkg.tar").access, Access::kReadOnly);
  EXPECT_EQ(p->backing(), "/srv/scratch/ci");
}

}  // namespace
}  // namespace confinefs::policy
