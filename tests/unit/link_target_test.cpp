// The lexical half of link containment: which targets a link may have, and how far each climbs.
#include "fusefs/objects/link_target.h"

#include <gtest/gtest.h>

#include <string>

namespace confinefs::objects {
namespace {

unsigned climb(std::string_view target) {
  auto shape = parse_link_target(target);
  EXPECT_TRUE(shape.ok()) << target << ": " << shape.code();
  return shape ? shape->climb : 999;
}

Error fault(std::string_view target) {
  auto shape = parse_link_target(target);
  EXPECT_FALSE(shape.ok()) << target << " was accepted";
  return shape.ok() ? Error{0} : shape.error();
}

TEST(LinkTarget, PlainNamesAndLeadingClimbsAreCountedLevels) {
  EXPECT_EQ(climb("python3"), 0u);
  EXPECT_EQ(climb("lib"), 0u);
  EXPECT_EQ(climb("a/b/c"), 0u);
  EXPECT_EQ(climb("../semver/bin/semver"), 1u);  // npm's node_modules/.bin links
  EXPECT_EQ(climb("../../x"), 2u);
  EXPECT_EQ(climb(".."), 1u);
  EXPECT_EQ(climb("../.."), 2u);
}

TEST(LinkTarget, DotsEmptyComponentsAndTrailingSlashesChangeNothing) {
  EXPECT_EQ(climb("./x"), 0u);
  EXPECT_EQ(climb("x/."), 0u);
  EXPECT_EQ(climb("."), 0u);
  EXPECT_EQ(climb("a//b/"), 0u);
  EXPECT_EQ(climb(".././../x/"), 2u);
  EXPECT_EQ(climb("..//..//"), 2u);
  EXPECT_EQ(climb(std::string(4000, '/').replace(0, 2, "..")), 1u);
}

TEST(LinkTarget, AbsoluteTargetsAreRefused) {
  EXPECT_EQ(fault("/etc/passwd").refusal, Refusal::kLinkEscape);
  EXPECT_EQ(fault("/").code, EPERM);
  EXPECT_EQ(fault("//x").refusal, Refusal::kLinkEscape);
}

TEST(LinkTarget, AClimbAfterANameIsRefusedWhereverItLeads) {
  // The kernel climbs from wherever "a" leads (it may be a link), not from the link's directory.
  EXPECT_EQ(fault("a/..").refusal, Refusal::kLinkEscape);
  EXPECT_EQ(fault("a/../b").refusal, Refusal::kLinkEscape);
  EXPECT_EQ(fault("../a/../../b").refusal, Refusal::kLinkEscape);
  EXPECT_EQ(fault("./a/./..").refusal, Refusal::kLinkEscape);
}

TEST(LinkTarget, EmptyLongAndControlCharacterTargetsAreRefused) {
  EXPECT_EQ(fault("").code, ENOENT);
  EXPECT_EQ(fault(std::string(kMaxLinkTarget + 1, 'a')).code, ENAMETOOLONG);
  EXPECT_EQ(climb(std::string(kMaxLinkTarget, '/').replace(0, 1, "a")), 0u);
  EXPECT_EQ(climb(std::string(256, 'a')), 0u);  // as natively: fails when followed, not made
  EXPECT_EQ(fault(std::string("a\0b", 3)).refusal, Refusal::kHostileName);
  EXPECT_EQ(fault("a\nb").refusal, Refusal::kHostileName);
  EXPECT_EQ(fault("a\x7f").refusal, Refusal::kHostileName);
  EXPECT_EQ(climb("caf\xc3\xa9"), 0u);  // UTF-8 is fine
}

}  // namespace
}  // namespace confinefs::objects
