// Name: one validated path component from the client or from a host directory listing.
// Threat (threats 2, 16): a name with '/', "." or "..", or over NAME_MAX would make an *at()
// call walk more than one step; control characters poison logs. A Name can only be built by
// parse(), so every resolver call is known to take exactly one plain component.
#pragma once

#include <cstddef>
#include <string_view>

#include "fusefs/result.h"

namespace confinefs {
inline namespace resolve {

class Name {
 public:
  // s must be NUL-terminated and outlive the Name (FUSE request buffers and getdents buffers are).
  static Result<Name> parse(const char* s);

  const char* c_str() const noexcept { return s_; }
  std::string_view view() const noexcept { return {s_, n_}; }
  size_t size() const noexcept { return n_; }

 private:
  Name(const char* s, size_t n) : s_(s), n_(n) {}
  const char* s_;
  size_t n_;
};

}  // namespace resolve
}  // namespace confinefs
