// strictest_in_subtree and rename_keeps_access: the helpers for renames.
#include <gtest/gtest.h>

#include "policy_builder.h"

namespace confinefs::policy {
namespace {

using namespace testing;

TEST(StrictestInSubtree, SeesRulesBelowTheDirectory) {
  Policy p = make_policy({{"/work/.git/hooks", RO}, {"/work/keys", HIDDEN}, {"/tmp", DENY}});
  EXPECT_EQ(p.strictest_in_subtree("/work").access, HIDDEN);
  EXPECT_EQ(p.strictest_in_subtree("/work").rule, 1);
  EXPECT_EQ(p.strictest_in_subtree("/work/.git").access, RO);
  EXPECT_EQ(p.strictest_in_subtree("/work/src").access, RW);
  EXPECT_EQ(p.strictest_in_subtree("/").access, HIDDEN);
  EXPECT_EQ(p.strictest_in_subtree("/tmp/x").access, DENY);  // the directory's own rule
}

TEST(StrictestInSubtree, GlobstarRulesReachEverywhere) {
  Policy p = make_policy({{"/**/*.pem", DENY}});
  EXPECT_EQ(p.strictest_in_subtree("/any/dir").access, DENY);
  EXPECT_EQ(p.strictest_in_subtree("/any/dir").rule, 0);
}

TEST(StrictestInSubtree, RespectsTheMode) {
  Policy p = make_policy({{"/a/b", RW}}, RO);
  EXPECT_EQ(p.strictest_in_subtree("/a").access, RO);
  EXPECT_EQ(p.strictest_in_subtree("/a").rule, -1);
}

TEST(RenameKeepsAccess, PlainMovesAreAllowed) {
  Policy p = make_policy({{"/inputs", RO}, {"/**/*.pem", DENY}, {"/home/*/.ssh", HIDDEN}});
  EXPECT_TRUE(p.rename_keeps_access("/work/a", "/work/b"));
  EXPECT_TRUE(p.rename_keeps_access("/work/a", "/other/deep/b"));
  EXPECT_TRUE(p.rename_keeps_access("/home/u", "/home/v"));  // .ssh stays hidden in both
  EXPECT_TRUE(p.rename_keeps_access("/inputs/a", "/inputs/b"));
}

TEST(RenameKeepsAccess, RefusesCrossingARuleBoundary) {
  Policy p = make_policy({{"/inputs", RO}, {"/secret", HIDDEN}, {"/home/*/.ssh", HIDDEN}});
  EXPECT_FALSE(p.rename_keeps_access("/inputs/a", "/work/a"));  // out of read-only
  EXPECT_FALSE(p.rename_keeps_access("/work/a", "/inputs/a"));  // into read-only
  EXPECT_FALSE(p.rename_keeps_access("/work/a", "/secret/a"));  // into hidden
  EXPECT_FALSE(p.rename_keeps_access("/home/u", "/tmp/u"));     // would reveal u/.ssh
  EXPECT_FALSE(p.rename_keeps_access("/tmp/u", "/home/u"));     // would hide tmp/u/.ssh
  EXPECT_FALSE(p.rename_keeps_access("/home", "/house"));
}

TEST(RenameKeepsAccess, ExceptionsInsideTheTreeCount) {
  // /a/x is read-write inside read-only /: moving /a elsewhere would make a/x read-only.
  Policy p = make_policy({{"/", RO}, {"/a/x", RW}});
  EXPECT_FALSE(p.rename_keeps_access("/a", "/b"));
}

}  // namespace
}  // namespace confinefs::policy
