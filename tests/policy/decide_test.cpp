// Policy::decide: which rule wins for a virtual path.
#include <gtest/gtest.h>

#include <stdexcept>

#include "policy_builder.h"

namespace confinefs::policy {
namespace {

using namespace testing;

TEST(Decide, DefaultsAreReadWriteWithoutRules) {
  auto p = Policy::defaults();
  EXPECT_FALSE(p->has_rules());
  EXPECT_EQ(p->decide("/").access, RW);
  EXPECT_EQ(p->decide("/a/b").rule, -1);
  EXPECT_EQ(p->hardlinks(), HardlinkMode::kRefuse);
  EXPECT_EQ(p->tenant(), "default");
}

TEST(Decide, RuleCoversItsSubtree) {
  Policy p = make_policy({{"/secret", HIDDEN}});
  EXPECT_EQ(p.decide("/secret").access, HIDDEN);
  EXPECT_EQ(p.decide("/secret/a/b").access, HIDDEN);
  EXPECT_EQ(p.decide("/secret/a/b").rule, 0);
  EXPECT_EQ(p.decide("/secretive").access, RW);
  EXPECT_EQ(p.decide("/").access, RW);
  EXPECT_EQ(p.decide("/").rule, -1);
}

TEST(Decide, RootRuleAppliesEverywhere) {
  Policy p = make_policy({{"/", RO}, {"/scratch", RW}});
  EXPECT_EQ(p.decide("/").access, RO);
  EXPECT_EQ(p.decide("/a").access, RO);
  EXPECT_EQ(p.decide("/scratch/f").access, RW);
}

TEST(Decide, NearerMatchBeatsMoreSpecificAncestorRule) {
  // /work/project has more literal components, but /**/.env names the node itself.
  Policy p = make_policy({{"/work/project", RW}, {"/**/.env", DENY}});
  EXPECT_EQ(p.decide("/work/project/.env").access, DENY);
  EXPECT_EQ(p.decide("/work/project/.env/inner").access, DENY);
  EXPECT_EQ(p.decide("/work/project/src").rule, 0);
}

TEST(Decide, DeeperRuleCarvesAnExceptionOutOfASubtree) {
  Policy p = make_policy({{"/inputs", RO}, {"/inputs/scratch", RW}});
  EXPECT_EQ(p.decide("/inputs/data").access, RO);
  EXPECT_EQ(p.decide("/inputs/scratch/x").access, RW);
  // A trailing /** is only a spelling of the subtree: it does not beat a deeper rule.
  Policy q = make_policy({{"/data/**", RO}, {"/data/tmp", RW}});
  EXPECT_EQ(q.decide("/data/tmp/x").access, RW);
}

TEST(Decide, SameNodeGoesToTheMoreSpecificRule) {
  Policy p = make_policy({{"/a/*", RO}, {"/a/b", DENY}, {"/a/*.txt", HIDDEN}});
  EXPECT_EQ(p.decide("/a/b").access, DENY);        // 2 literal components beat 1
  EXPECT_EQ(p.decide("/a/c.txt").access, HIDDEN);  // more literal characters
  EXPECT_EQ(p.decide("/a/c").access, RO);
  Policy q = make_policy({{"/a/**/x", RO}, {"/a/*/x", DENY}});
  EXPECT_EQ(q.decide("/a/b/x").access, DENY);  // '*' is a fixed component, '**' is not
}

TEST(Decide, FullTiesGoToTheFirstListed) {
  Policy p = make_policy({{"/a/*/c", RO}, {"/a/b/*", DENY}});
  EXPECT_EQ(p.decide("/a/b/c").access, RO);
  EXPECT_EQ(p.decide("/a/b/c").rule, 0);
  Policy q = make_policy({{"/a/b/*", DENY}, {"/a/*/c", RO}});
  EXPECT_EQ(q.decide("/a/b/c").access, DENY);
}

TEST(Decide, ModeIsAFloor) {
  Policy p = make_policy({{"/scratch", RW}, {"/keys", DENY}}, RO);
  EXPECT_EQ(p.decide("/x").access, RO);
  EXPECT_EQ(p.decide("/x").rule, -1);
  EXPECT_EQ(p.decide("/scratch/x").access, RO);  // a read-write rule cannot lift the mode
  EXPECT_EQ(p.decide("/scratch/x").rule, -1);
  EXPECT_EQ(p.decide("/keys").access, DENY);
  EXPECT_EQ(p.decide("/keys").rule, 1);
}

TEST(Decide, StrictRuleDeepInsideAnotherStillWins) {
  Policy p = make_policy({{"/", RW}, {"/home/*/.ssh", HIDDEN}, {"/home", RO}});
  EXPECT_EQ(p.decide("/home/u").access, RO);
  EXPECT_EQ(p.decide("/home/u/.ssh/id").access, HIDDEN);
  EXPECT_EQ(p.decide("/tmp/.ssh").access, RW);
}

// The worked example in docs/policy.md, "Which rule decides".
TEST(Decide, DocumentedExample) {
  Policy p = make_policy({{"/inputs", RO},
                          {"/inputs/scratch", RW},
                          {"/**/*.pem", DENY},
                          {"/work", RW},
                          {"/a/*", RO},
                          {"/a/b", HIDDEN}});
  struct Row {
    const char* path;
    int rule;
    Access access;
  };
  const Row rows[] = {{"/inputs/data.csv", 0, RO},
                      {"/inputs/scratch/out", 1, RW},
                      {"/work/keys/server.pem", 2, DENY},
                      {"/work/keys/server.pem/x", 2, DENY},
                      {"/a/b/c", 5, HIDDEN},
                      {"/a/c", 4, RO},
                      {"/", -1, RW}};
  for (const Row& r : rows) {
    Decision d = p.decide(r.path);
    EXPECT_EQ(d.rule, r.rule) << r.path;
    EXPECT_EQ(d.access, r.access) << r.path;
  }
}

TEST(Decide, VeryDeepPathsFallBackToTheStringWalk) {
  Policy p = make_policy({{"/d/**/leaf", HIDDEN}, {"/d", RO}});
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "/d";
  EXPECT_EQ(p.decide(deep).access, RO);
  EXPECT_EQ(p.decide(deep + "/leaf/x").access, HIDDEN);
  EXPECT_TRUE(p.rename_keeps_access(deep + "/a", "/d/b"));
}

TEST(Decide, BadGlobInCodeThrows) {
  EXPECT_THROW(make_policy({{"relative", RO}}), std::invalid_argument);
}

TEST(Decide, XattrNamespaces) {
  Policy p;
  EXPECT_TRUE(p.xattr_allowed("user.mime"));
  EXPECT_FALSE(p.xattr_allowed("user."));
  EXPECT_FALSE(p.xattr_allowed("system.posix_acl_access"));
  EXPECT_FALSE(p.xattr_allowed("security.selinux"));
  EXPECT_FALSE(p.xattr_allowed("trusted.x"));
  Settings s;
  s.xattr_namespaces = kXattrSystem;
  Policy q(s, {});
  EXPECT_FALSE(q.xattr_allowed("user.mime"));
  EXPECT_TRUE(q.xattr_allowed("system.posix_acl_access"));
}

}  // namespace
}  // namespace confinefs::policy
