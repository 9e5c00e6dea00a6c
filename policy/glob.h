// Glob: one compiled rule path, matched against the daemon's virtual paths.
// Threat (threat 4): string-prefix tests let "/data" match "/data_evil". A Glob matches
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

class SplitPath;

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
  // Same on a path split once (see SplitPath) for callers checking many globs against it;
  // falls back to the string when the split overflowed.
  GlobWalk walk(const SplitPath& split) const noexcept;

 private:
  // kPrefix ("abc*") and kSuffix ("*.pem") are the common one-star patterns, matched with one
  // comparison; kStar is any other pattern with a '*'.
  enum class Kind : unsigned char { kLiteral, kPrefix, kSuffix, kStar, kGlobstar };
  struct Component {
    Kind kind;
    std::string text;   // the name or pattern as written
    std::string fixed;  // kPrefix, kSuffix: the pattern without its star
    bool matches(std::string_view name) const noexcept;
  };

  Glob() = default;
  template <typename Cursor>
  GlobWalk walk_with(Cursor cursor) const noexcept;
  GlobWalk walk_fixed(const SplitPath& split) const noexcept;
  friend Component make_component(std::string_view c);
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

// A virtual path split once into components, on the stack and without initialising unused
// slots (this runs for every lookup). Paths with more than kMax components, or longer than
// 64 KiB, are not split (overflow() is true) and callers walk the string instead.
class SplitPath {
 public:
  static constexpr size_t kMax = 64;
  explicit SplitPath(std::string_view path) noexcept;
  bool overflow() const noexcept { return overflow_; }
  std::string_view path() const noexcept { return path_; }
  size_t size() const noexcept { return n_; }
  std::string_view operator[](size_t i) const noexcept { return path_.substr(begin_[i], len_[i]); }

 private:
  std::string_view path_;
  uint16_t begin_[kMax];  // deliberately left uninitialised beyond n_
  uint16_t len_[kMax];
  size_t n_ = 0;
  bool overflow_ = false;
};

}  // namespace confinefs::policy
