#include "fusefs/resolve/name.h"

#include <climits>

namespace confinefs {
inline namespace resolve {

Result<Name> Name::parse(const char* s) {
  size_t n = 0;
  for (; s[n] != '\0'; ++n) {
    if (n >= NAME_MAX) return Error{ENAMETOOLONG, Refusal::kHostileName};
    unsigned char c = static_cast<unsigned char>(s[n]);
    if (c == '/' || c < 0x20 || c == 0x7f) return Error{EINVAL, Refusal::kHostileName};
  }
  if (n == 0) return Error{EINVAL, Refusal::kHostileName};
  if (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.'))) {
    return Error{EINVAL, Refusal::kHostileName};
  }
  return Name(s, n);
}

}  // namespace resolve
}  // namespace confinefs
