// Test helper: a Policy from a list of (glob, access) pairs.
#pragma once

#include <utility>
#include <vector>

#include "policy/policy.h"

namespace confinefs::policy::testing {

inline Policy make_policy(std::vector<std::pair<const char*, Access>> rules,
                          Access mode = Access::kReadWrite) {
  Settings s;
  s.mode = mode;
  std::vector<Rule> out;
  for (const auto& [glob, access] : rules) out.push_back({glob, access});
  return Policy(std::move(s), std::move(out));
}

constexpr Access RW = Access::kReadWrite;
constexpr Access RO = Access::kReadOnly;
constexpr Access DENY = Access::kDeny;
constexpr Access HIDDEN = Access::kHidden;

}  // namespace confinefs::policy::testing
