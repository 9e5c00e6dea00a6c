#include "fusefs/sys/mountinfo.h"

#include <sys/sysmacros.h>

#include <cstdio>
#include <vector>

namespace confinefs::sys {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      std::string_view oct = field.substr(i + 1, 3);
      if (oct.size() == 3 && oct.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t at = 0;
  while (at < line.size()) {
    size_t end = line.find(' ', at);
    if (end == std::string_view::npos) end = line.size();
    if (end > at) fields.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return fields;
}

}  // namespace

std::optional<MountInfoLine> parse_mountinfo_line(std::string_view line) {
  auto fields = fields_of(line);
  // id, parent, major:minor, root, mount point, options, optional fields..., "-", type, source
  size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-") ++dash;
  if (fields.size() < 5 || dash + 2 >= fields.size()) return std::nullopt;
  MountInfoLine e;
  for (char c : fields[0]) {
    if (c < '0' || c > '9') return std::nullopt;
    e.id = e.id * 10 + static_cast<uint64_t>(c - '0');
  }
  unsigned major = 0, minor = 0;
  if (std::sscanf(std::string(fields[2]).c_str(), "%u:%u", &major, &minor) == 2) {
    e.device = makedev(major, minor);
  }
  e.root = unescape(fields[3]);
  e.mount_point = unescape(fields[4]);
  e.fstype = std::string(fields[dash + 1]);
  e.source = unescape(fields[dash + 2]);
  return e;
}

}  // namespace confinefs::sys
