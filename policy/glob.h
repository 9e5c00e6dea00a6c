// Glob: one compiled rule path, matched against the daemon's virtual paths.
// Threat (threats.md #4): string-prefix tests let "/data" match "/data_evil". A Glob matches
// whole components only, so a rule can never leak onto a sibling whose name merely starts alike.
// Invariant: compile() is the only constructor; a Glob is immutable and matching never allocates.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace confinefs::policy {

// Orders rules that name the same node; larger is more specific (see docs/policy.md).
struct Specificity {
  uint32_t literal_components = 0;  // components without any '*'
  uint32_t fixed_components = 0;    // components that are not '**'
  uint32_t literal_chars = 0;       // characters outside wildcards
  auto operator<=>(const Specificity&) const = default;
};

// Result of walking a virtual path through a glob.
struct GlobWalk {
  // Deepest d such that the glob matches the first d components of the path (the node itself
  // or one of its ancestors); -1 when it matches none of them.
  int anchor = -1;
  // Set of glob positions still reachable after the whole path, with the "matched" position
  // cleared: non-zero means some strict descendant of the path could be matched.
  uint64_t live = 0;
};

class Glob {
 public:
  // Longest glob accepted: states of the matcher are bits of one uint64_t.
  static constexpr size_t kMaxComponents = 63;

  // Returns the compiled glob, or nullopt with *error set to a message naming `text`.
  static std::optional<Glob> compile(std::string_view text, std::string* error);

  // Canonical form: trailing "/**" and repeated "**" components dropped ("/a/**" -> "/a").
  const std::string& normalized() const noexcept { return normalized_; }
  const Specificity& specificity() const noexcept { return specificity_; }

  GlobWalk walk(std::string_view virtual_path) const noexcept;

 private:
  enum class Kind : unsigned char { kLiteral, kStar, kGlobstar };
  struct Component {
    Kind kind;
    std::string text;  // the literal name, or the pattern with '*' for kStar
    bool matches(std::string_view name) const noexcept;
  };

  Glob() = default;
  uint64_t closure(uint64_t states) const noexcept;
  uint64_t step(uint64_t states, std::string_view name) const noexcept;
  uint64_t accept_bit() const noexcept { return uint64_t{1} << components_.size(); }

  std::vector<Component> components_;
  uint64_t globstar_mask_ = 0;  // bit i set when components_[i] is "**"
  std::string normalized_;
  Specificity specificity_;
};

// Splits "/a/b" into "a", "b" without allocating; empty components ("//") are skipped.
class PathCursor {
 public:
  explicit PathCursor(std::string_view path) noexcept : rest_(path) {}
  // Stores the next component in *name; false at the end of the path.
  bool next(std::string_view* name) noexcept;

 private:
  std::string_view rest_;
};

}  // namespace confinefs::policy
