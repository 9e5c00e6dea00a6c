#include "fusefs/objects/link_target.h"

namespace confinefs::objects {

Result<LinkTarget> parse_link_target(std::string_view target) {
  if (target.empty()) return Error{ENOENT};
  if (target.size() > kMaxLinkTarget) return Error{ENAMETOOLONG};
  for (unsigned char c : target) {
    // NUL would cut the target short in the client's kernel; control characters reach names the
    // mount refuses anyway and would poison logs.
    if (c < 0x20 || c == 0x7f) return Error{EPERM, Refusal::kHostileName};
  }
  if (target.front() == '/') return Error{EPERM, Refusal::kLinkEscape};
  LinkTarget shape;
  bool descended = false;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    std::string_view part = target.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (descended) return Error{EPERM, Refusal::kLinkEscape};
      ++shape.climb;
    } else {
      descended = true;
    }
  }
  return shape;
}

}  // namespace confinefs::objects
