// Randomized checks against a brute-force reference: the bitset matcher must agree with a
// plain recursive glob match, and rename_keeps_access must never approve a move that changes
// the access of some descendant.
#include <gtest/gtest.h>

#include <random>

#include "policy_builder.h"

namespace confinefs::policy {
namespace {

using namespace testing;
using Parts = std::vector<std::string>;

Parts split(const std::string& path) {
  Parts out;
  PathCursor c(path);
  std::string_view n;
  while (c.next(&n)) out.emplace_back(n);
  return out;
}

bool star_match(const std::string& pat, const std::string& s, size_t p = 0, size_t i = 0) {
  if (p == pat.size()) return i == s.size();
  if (pat[p] == '*')
    return star_match(pat, s, p + 1, i) || (i < s.size() && star_match(pat, s, p, i + 1));
  return i < s.size() && pat[p] == s[i] && star_match(pat, s, p + 1, i + 1);
}

bool ref_match(const Parts& g, size_t gi, const Parts& p, size_t pi, size_t pend) {
  if (gi == g.size()) return pi == pend;
  if (g[gi] == "**") {
    return ref_match(g, gi + 1, p, pi, pend) || (pi < pend && ref_match(g, gi, p, pi + 1, pend));
  }
  return pi < pend && star_match(g[gi], p[pi]) && ref_match(g, gi + 1, p, pi + 1, pend);
}

int ref_anchor(const std::string& glob, const std::string& path) {
  Parts g = split(glob), p = split(path);
  for (int k = static_cast<int>(p.size()); k >= 0; --k) {
    if (ref_match(g, 0, p, 0, static_cast<size_t>(k))) return k;
  }
  return -1;
}

struct Gen {
  std::mt19937 rng{12345};
  std::string pick(std::initializer_list<const char*> xs) {
    return *(xs.begin() + std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng));
  }
  std::string glob() {
    std::string g;
    int n = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int i = 0; i < n; ++i) g += "/" + pick({"a", "b", "ab", "*", "a*", "*b", "**", "*a*"});
    return g.empty() ? "/" : g;
  }
  std::string path(int max = 5) {
    std::string p;
    int n = std::uniform_int_distribution<int>(0, max)(rng);
    for (int i = 0; i < n; ++i) p += "/" + pick({"a", "b", "ab", "ba", "aab", "c"});
    return p.empty() ? "/" : p;
  }
};

std::string join(const std::string& dir, const std::string& suffix) {
  if (suffix == "/") return dir;
  return dir == "/" ? suffix : dir + suffix;
}

TEST(Random, MatcherAgreesWithReference) {
  Gen gen;
  for (int round = 0; round < 3000; ++round) {
    std::string g = gen.glob(), p = gen.path();
    std::string error;
    std::optional<Glob> glob = Glob::compile(g, &error);
    ASSERT_TRUE(glob) << g << ": " << error;
    // The reference sees the canonical form: a trailing "**" is only the subtree spelled out.
    GlobWalk w = glob->walk(p);
    ASSERT_EQ(w.anchor, ref_anchor(glob->normalized(), p)) << g << " on " << p;
    // The split-path fast paths must agree exactly, live states included.
    GlobWalk fast = glob->walk(SplitPath(p));
    ASSERT_EQ(fast.anchor, w.anchor) << g << " on " << p;
    ASSERT_EQ(fast.live, w.live) << g << " on " << p;
  }
}

TEST(Random, RenameKeepsAccessIsSound) {
  Gen gen;
  const Access kinds[] = {RW, RO, DENY, HIDDEN};
  int approved = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<Rule> rules;
    for (int i = 0, n = 1 + round % 4; i < n; ++i) {
      rules.push_back({gen.glob(), kinds[gen.rng() % 4]});
    }
    Settings s;
    Policy p(s, rules);
    std::string from = gen.path(3), to = gen.path(3);
    if (from == "/" || to == "/" || !p.rename_keeps_access(from, to)) continue;
    ++approved;
    for (int k = 0; k < 50; ++k) {
      std::string suffix = gen.path(4);
      ASSERT_EQ(p.decide(join(from, suffix)).access, p.decide(join(to, suffix)).access)
          << from << " -> " << to << " suffix " << suffix;
    }
  }
  EXPECT_GT(approved, 20);
}

TEST(Random, StrictestInSubtreeBoundsEveryDescendant) {
  Gen gen;
  const Access kinds[] = {RW, RO, DENY, HIDDEN};
  for (int round = 0; round < 400; ++round) {
    std::vector<Rule> rules;
    for (int i = 0, n = 1 + round % 4; i < n; ++i) {
      rules.push_back({gen.glob(), kinds[gen.rng() % 4]});
    }
    Policy p(Settings{}, rules);
    std::string dir = gen.path(3);
    Access bound = p.strictest_in_subtree(dir).access;
    for (int k = 0; k < 50; ++k) {
      std::string path = join(dir, gen.path(4));
      ASSERT_LE(p.decide(path).access, bound) << path << " under " << dir;
    }
  }
}

}  // namespace
}  // namespace confinefs::policy
