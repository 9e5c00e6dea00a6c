#include "fusefs/result.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace confinefs {

const char* refusal_name(Refusal r) noexcept {
  switch (r) {
    case Refusal::kNone: return "none";
    case Refusal::kSymlink: return "symlink";
    case Refusal::kSpecialFile: return "special-file";
    case Refusal::kForeignMount: return "foreign-mount";
    case Refusal::kHardlink: return "hardlink";
    case Refusal::kIdentityMismatch: return "identity-mismatch";
    case Refusal::kUndecided: return "undecided";
    case Refusal::kHostileName: return "hostile-name";
    case Refusal::kLinkEscape: return "link-escape";
    case Refusal::kMovedOut: return "moved-out";
    case Refusal::kDenied: return "denied";
  }
  return "unknown";
}

const char* describe(const Error& e) noexcept { return std::strerror(e.code); }

void result_misuse(const char* what) noexcept {
  std::fprintf(stderr, "confinefs: internal error: the value of a failed result (%s) was read\n",
               what);
  std::abort();
}

}  // namespace confinefs
