#include "policy/glob.h"

#include <algorithm>
#include <bit>

namespace confinefs::policy {
namespace {

constexpr size_t kMaxPath = 4095;  // PATH_MAX - 1: a longer virtual path cannot exist
constexpr size_t kMaxName = 255;   // NAME_MAX
constexpr std::string_view kReserved = "?[]{}\\";

// '*' matches any run of characters (possibly empty) inside one name; nothing else is special.
// Greedy with one backtrack point: linear for patterns without consecutive stars.
bool wildcard_match(std::string_view pat, std::string_view s) noexcept {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

std::string quoted(std::string_view text) { return "rule path '" + std::string(text) + "': "; }

// Whole-text checks that do not depend on components; empty string when fine.
std::string check_text(std::string_view text) {
  if (text.empty()) return "rule path is empty";
  if (text.size() > kMaxPath) return "rule path is longer than 4095 bytes";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return "rule path contains a control character";
  }
  if (text.front() != '/') return quoted(text) + "must start with '/'";
  if (size_t bad = text.find_first_of(kReserved); bad != std::string_view::npos) {
    return quoted(text) + "'" + text[bad] + "' is reserved (only '*' and '**' are wildcards)";
  }
  if (text.size() > 1 && text.back() == '/') return quoted(text) + "must not end with '/'";
  return {};
}

std::string check_component(std::string_view text, std::string_view c) {
  if (c.empty()) return quoted(text) + "empty component";
  if (c == "." || c == "..") return quoted(text) + "'" + std::string(c) + "' component";
  if (c != "**" && c.find("**") != std::string_view::npos) {
    return quoted(text) + "'**' must be a whole component";
  }
  if (c.size() > kMaxName) return quoted(text) + "component longer than 255 bytes";
  return {};
}

}  // namespace

Glob::Component make_component(std::string_view c) {
  using Kind = Glob::Kind;
  auto stars = std::count(c.begin(), c.end(), '*');
  std::string text(c);
  if (c == "**") return {Kind::kGlobstar, text, {}};
  if (stars == 0) return {Kind::kLiteral, text, {}};
  if (stars == 1 && c.back() == '*') return {Kind::kPrefix, text, text.substr(0, c.size() - 1)};
  if (stars == 1 && c.front() == '*') return {Kind::kSuffix, text, text.substr(1)};
  return {Kind::kStar, text, {}};
}

bool PathCursor::next(std::string_view* name) noexcept {
  while (!rest_.empty() && rest_.front() == '/') rest_.remove_prefix(1);
  if (rest_.empty()) return false;
  size_t end = rest_.find('/');
  if (end == std::string_view::npos) end = rest_.size();
  *name = rest_.substr(0, end);
  rest_.remove_prefix(end);
  return true;
}

bool Glob::Component::matches(std::string_view name) const noexcept {
  switch (kind) {
    case Kind::kLiteral: return name == text;
    case Kind::kPrefix: return name.starts_with(fixed);
    case Kind::kSuffix: return name.ends_with(fixed);
    case Kind::kStar: return wildcard_match(text, name);
    case Kind::kGlobstar: return true;
  }
  return false;
}

std::optional<Glob> Glob::compile(std::string_view text, std::string* error) {
  if (std::string msg = check_text(text); !msg.empty()) return *error = msg, std::nullopt;
  Glob g;
  // Split by hand: PathCursor skips empty components, which must be reported here.
  for (size_t pos = 1; text.size() > 1 && pos <= text.size();) {
    size_t end = std::min(text.find('/', pos), text.size());
    std::string_view c = text.substr(pos, end - pos);
    pos = end + 1;
    if (std::string msg = check_component(text, c); !msg.empty()) return *error = msg, std::nullopt;
    bool globstar = c == "**";
    // "a/**/**/b" == "a/**/b": drop the repeat so specificity and state count stay canonical.
    if (globstar && !g.components_.empty() && g.components_.back().kind == Kind::kGlobstar) {
      continue;
    }
    g.components_.push_back(make_component(c));
  }
  // A rule covers its subtree anyway, so a trailing "**" adds nothing: "/a/**" == "/a".
  if (!g.components_.empty() && g.components_.back().kind == Kind::kGlobstar) {
    g.components_.pop_back();
  }
  if (g.components_.size() > kMaxComponents) {
    return *error = quoted(text) + "more than 63 components", std::nullopt;
  }
  for (size_t i = 0; i < g.components_.size(); ++i) {
    const Component& c = g.components_[i];
    g.normalized_.push_back('/');
    g.normalized_.append(c.text);
    if (c.kind == Kind::kGlobstar) {
      g.globstar_mask_ |= uint64_t{1} << i;
      continue;
    }
    g.specificity_.fixed_components++;
    if (c.kind == Kind::kLiteral) g.specificity_.literal_components++;
    for (char ch : c.text) g.specificity_.literal_chars += ch != '*';
  }
  if (g.normalized_.empty()) g.normalized_.push_back('/');
  return g;
}

// Adds the positions reachable by letting "**" match zero components.
uint64_t Glob::closure(uint64_t states) const noexcept {
  for (uint64_t pending = states & globstar_mask_; pending != 0; pending &= pending - 1) {
    // Ascending order: a bit set here is above the one just read, so the loop sees it.
    uint64_t next = (pending & -pending) << 1;
    states |= next;
    if (next & globstar_mask_) pending |= next;
  }
  return states;
}

uint64_t Glob::step(uint64_t states, std::string_view name) const noexcept {
  uint64_t next = 0;
  for (uint64_t s = states & (accept_bit() - 1); s != 0; s &= s - 1) {
    int i = std::countr_zero(s);
    const Component& c = components_[i];
    if (c.kind == Kind::kGlobstar) {
      next |= uint64_t{1} << i;  // "**" consumes this name and stays
    } else if (c.matches(name)) {
      next |= uint64_t{1} << (i + 1);
    }
  }
  return closure(next);
}

namespace {

// Hands out the components of an already split path, with the PathCursor interface.
class SplitCursor {
 public:
  explicit SplitCursor(const SplitPath& split) noexcept : split_(split) {}
  bool next(std::string_view* name) noexcept {
    if (i_ == split_.size()) return false;
    *name = split_[i_++];
    return true;
  }

 private:
  const SplitPath& split_;
  size_t i_ = 0;
};

}  // namespace

template <typename Cursor>
GlobWalk Glob::walk_with(Cursor cursor) const noexcept {
  GlobWalk w;
  uint64_t states = closure(1);
  if (states & accept_bit()) w.anchor = 0;
  std::string_view name;
  for (int depth = 1; states != 0 && cursor.next(&name); ++depth) {
    states = step(states, name);
    if (states & accept_bit()) w.anchor = depth;
  }
  w.live = states & ~accept_bit();
  return w;
}

GlobWalk Glob::walk(std::string_view virtual_path) const noexcept {
  return walk_with(PathCursor(virtual_path));
}

// Without "**" a glob matches at exactly one depth: compare component by component.
GlobWalk Glob::walk_fixed(const SplitPath& split) const noexcept {
  size_t m = components_.size();
  size_t n = std::min(m, split.size());
  for (size_t i = 0; i < n; ++i) {
    if (!components_[i].matches(split[i])) return {};
  }
  if (split.size() >= m) return {static_cast<int>(m), 0};
  return {-1, uint64_t{1} << split.size()};
}

GlobWalk Glob::walk(const SplitPath& split) const noexcept {
  if (split.overflow()) return walk(split.path());
  if (globstar_mask_ == 0) return walk_fixed(split);
  // Most rules start with a literal name: reject a different first name without the machinery.
  if (split.size() > 0 && !components_.empty() && components_[0].kind == Kind::kLiteral &&
      split[0] != components_[0].text) {
    return {};
  }
  return walk_with(SplitCursor(split));
}

SplitPath::SplitPath(std::string_view path) noexcept : path_(path) {
  if (path.size() > UINT16_MAX) {
    overflow_ = true;
    return;
  }
  PathCursor cursor(path);
  std::string_view name;
  while (cursor.next(&name)) {
    if (n_ == kMax) {
      overflow_ = true;
      n_ = 0;
      return;
    }
    begin_[n_] = static_cast<uint16_t>(name.data() - path.data());
    len_[n_++] = static_cast<uint16_t>(name.size());
  }
}

}  // namespace confinefs::policy
