#include "policy/policy.h"

#include <stdexcept>

namespace confinefs::policy {

const char* access_name(Access a) noexcept {
  switch (a) {
    case Access::kReadWrite: return "read-write";
    case Access::kReadOnly: return "read-only";
    case Access::kDeny: return "deny";
    case Access::kHidden: return "hidden";
  }
  return "unknown";
}

const char* hardlink_mode_name(HardlinkMode m) noexcept {
  switch (m) {
    case HardlinkMode::kRefuse: return "refuse";
    case HardlinkMode::kReadOnly: return "read-only";
  }
  return "unknown";
}

const char* link_mode_name(LinkMode m) noexcept {
  return m == LinkMode::kRefuse ? "refuse" : "contained";
}

const char* object_mode_name(ObjectMode m) noexcept {
  return m == ObjectMode::kRefuse ? "refuse" : "mount";
}

std::shared_ptr<const Policy> Policy::defaults() { return std::make_shared<const Policy>(); }

Policy::Policy(Settings settings, std::vector<Rule> rules)
    : settings_(std::move(settings)), rules_(std::move(rules)) {
  globs_.reserve(rules_.size());
  for (const Rule& r : rules_) {
    std::string error;
    std::optional<Glob> g = Glob::compile(r.glob, &error);
    if (!g) throw std::invalid_argument(error);
    globs_.push_back(std::move(*g));
  }
}

// The mount-wide mode is a floor: a read-write rule cannot open up a read-only mount.
Decision Policy::floor_by_mode(Decision d) const noexcept {
  if (d.access < settings_.mode) return {settings_.mode, -1};
  return d;
}

Decision Policy::decide(std::string_view virtual_path) const {
  if (globs_.empty()) return {settings_.mode, -1};
  SplitPath split(virtual_path);
  int best = -1;
  int best_anchor = -1;
  for (size_t i = 0; i < globs_.size(); ++i) {
    int anchor = globs_[i].walk(split).anchor;
    if (anchor < 0 || anchor < best_anchor) continue;
    // Nearest match first; on the same node the more specific rule; on a full tie the earlier.
    if (best < 0 || anchor > best_anchor || globs_[i].specificity() > globs_[best].specificity()) {
      best = static_cast<int>(i);
      best_anchor = anchor;
    }
  }
  if (best < 0) return {settings_.mode, -1};
  return floor_by_mode({rules_[best].access, best});
}

Decision Policy::strictest_in_subtree(std::string_view dir_path) const {
  Decision strictest = decide(dir_path);
  SplitPath split(dir_path);
  for (size_t i = 0; i < globs_.size(); ++i) {
    if (rules_[i].access > strictest.access && globs_[i].walk(split).live != 0) {
      strictest = {rules_[i].access, static_cast<int>(i)};
    }
  }
  return floor_by_mode(strictest);
}

// Beneath a path, which rule wins depends only on the rule that decides the path itself (for
// descendants no deeper rule matches) and on each glob's live states (for those one does).
// Equal on both sides means equal decisions for every descendant name.
bool Policy::rename_keeps_access(std::string_view from, std::string_view to) const {
  if (decide(from).access != decide(to).access) return false;
  SplitPath split_from(from), split_to(to);
  for (size_t i = 0; i < globs_.size(); ++i) {
    if (globs_[i].walk(split_from).live != globs_[i].walk(split_to).live) return false;
  }
  return true;
}

bool Policy::xattr_allowed(std::string_view name) const noexcept {
  auto in = [&](std::string_view prefix, unsigned bit) {
    return (settings_.xattr_namespaces & bit) && name.size() > prefix.size() &&
           name.starts_with(prefix);
  };
  return in("user.", kXattrUser) || in("system.", kXattrSystem);
}

}  // namespace confinefs::policy
