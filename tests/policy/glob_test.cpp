// Glob compilation and matching: components, '*', '**', anchors and live states.
#include "policy/glob.h"

#include <gtest/gtest.h>

namespace confinefs::policy {
namespace {

Glob compile(std::string_view text) {
  std::string error;
  std::optional<Glob> g = Glob::compile(text, &error);
  EXPECT_TRUE(g) << text << ": " << error;
  return g.value_or(*Glob::compile("/", &error));
}

int anchor(std::string_view glob, std::string_view path) { return compile(glob).walk(path).anchor; }

TEST(PathCursor, SplitsComponents) {
  PathCursor c("/a/bc//d");
  std::string_view n;
  std::vector<std::string_view> got;
  while (c.next(&n)) got.push_back(n);
  EXPECT_EQ(got, (std::vector<std::string_view>{"a", "bc", "d"}));
  PathCursor root("/");
  EXPECT_FALSE(root.next(&n));
}

TEST(Glob, LiteralMatchesItselfAndDescendantsOnly) {
  EXPECT_EQ(anchor("/data", "/data"), 1);
  EXPECT_EQ(anchor("/data", "/data/x/y"), 1);
  EXPECT_EQ(anchor("/data", "/data_evil"), -1);  // whole components, never string prefixes
  EXPECT_EQ(anchor("/data", "/dat"), -1);
  EXPECT_EQ(anchor("/data", "/"), -1);
  EXPECT_EQ(anchor("/a/b", "/a"), -1);
}

TEST(Glob, RootMatchesEverythingAtDepthZero) {
  EXPECT_EQ(anchor("/", "/"), 0);
  EXPECT_EQ(anchor("/", "/a/b"), 0);
  EXPECT_EQ(compile("/**").normalized(), "/");
}

TEST(Glob, StarStaysInsideOneComponent) {
  EXPECT_EQ(anchor("/*.txt", "/a.txt"), 1);
  EXPECT_EQ(anchor("/*.txt", "/.txt"), 1);  // '*' may match nothing
  EXPECT_EQ(anchor("/*.txt", "/a.txt/inner"), 1);
  EXPECT_EQ(anchor("/*.txt", "/dir/a.txt"), -1);
  EXPECT_EQ(anchor("/*", "/.hidden"), 1);  // dot files are not special
  EXPECT_EQ(anchor("/a*b*c", "/aXbYc"), 1);
  EXPECT_EQ(anchor("/a*b*c", "/abcabc"), 1);
  EXPECT_EQ(anchor("/a*b*c", "/abcab"), -1);
  EXPECT_EQ(anchor("/x/*", "/x"), -1);  // "/x/*" names the children, not /x itself
  EXPECT_EQ(anchor("/x/*", "/x/y/z"), 2);
}

TEST(Glob, GlobstarSpansZeroOrMoreComponents) {
  EXPECT_EQ(anchor("/**/.env", "/.env"), 1);
  EXPECT_EQ(anchor("/**/.env", "/a/b/.env"), 3);
  EXPECT_EQ(anchor("/**/.env", "/a/b/.env/x"), 3);
  EXPECT_EQ(anchor("/**/.env", "/a/b/env"), -1);
  EXPECT_EQ(anchor("/a/**/b", "/a/b"), 2);
  EXPECT_EQ(anchor("/a/**/b", "/a/x/y/b"), 4);
  EXPECT_EQ(anchor("/a/**/b", "/x/a/b"), -1);
  // Deepest match wins when the glob matches several ancestors.
  EXPECT_EQ(anchor("/**/x", "/x/a/x/b"), 3);
  EXPECT_EQ(anchor("/**/a/**/b", "/q/a/r/b"), 4);
}

TEST(Glob, TrailingAndRepeatedGlobstarAreNormalized) {
  EXPECT_EQ(compile("/a/**").normalized(), "/a");
  EXPECT_EQ(compile("/a/**/**/b").normalized(), "/a/**/b");
  EXPECT_EQ(anchor("/a/**", "/a"), 1);
  EXPECT_EQ(anchor("/a/**", "/a/b/c"), 1);
}

TEST(Glob, LiveStatesTellWhetherDescendantsCanMatch) {
  EXPECT_NE(compile("/a/b").walk("/a").live, 0u);
  EXPECT_EQ(compile("/a/b").walk("/a/b").live, 0u);
  EXPECT_EQ(compile("/a/b").walk("/c").live, 0u);
  EXPECT_NE(compile("/**/k").walk("/x/y").live, 0u);
  EXPECT_EQ(compile("/**/k").walk("/x/y").live, compile("/**/k").walk("/z").live);
}

TEST(Glob, SpecificityCountsLiteralsThenFixedComponentsThenChars) {
  EXPECT_EQ(compile("/a/*.txt/**/b").specificity(), (Specificity{2, 3, 6}));
  EXPECT_GT(compile("/a/b").specificity(), compile("/a/*").specificity());
  EXPECT_GT(compile("/a/*").specificity(), compile("/a/**").specificity());
  EXPECT_GT(compile("/a/*.txt").specificity(), compile("/a/*").specificity());
}

struct BadGlob {
  const char* text;
  const char* message;
};

TEST(Glob, RejectsMalformed) {
  const BadGlob cases[] = {
      {"", "rule path is empty"},
      {"a/b", "rule path 'a/b': must start with '/'"},
      {"/a/", "rule path '/a/': must not end with '/'"},
      {"/a//b", "rule path '/a//b': empty component"},
      {"/a/./b", "rule path '/a/./b': '.' component"},
      {"/a/..", "rule path '/a/..': '..' component"},
      {"/a/***", "rule path '/a/***': '**' must be a whole component"},
      {"/a**", "rule path '/a**': '**' must be a whole component"},
      {"/a?", "rule path '/a?': '?' is reserved (only '*' and '**' are wildcards)"},
      {"/[ab]", "rule path '/[ab]': '[' is reserved (only '*' and '**' are wildcards)"},
      {"/a\tb", "rule path contains a control character"},
  };
  for (const BadGlob& c : cases) {
    std::string error;
    EXPECT_FALSE(Glob::compile(c.text, &error)) << c.text;
    EXPECT_EQ(error, c.message);
  }
  std::string error;
  EXPECT_FALSE(Glob::compile("/" + std::string(256, 'n'), &error));
  EXPECT_NE(error.find("component longer than 255 bytes"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "/d";
  EXPECT_FALSE(Glob::compile(deep, &error));
  EXPECT_NE(error.find("more than 63 components"), std::string::npos);
  EXPECT_TRUE(Glob::compile(deep.substr(2), &error));
}

}  // namespace
}  // namespace confinefs::policy
