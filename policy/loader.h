// Loading a policy file: YAML text in, an immutable Policy or one positioned error out.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "policy/policy.h"

namespace confinefs::policy {

struct LoadError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the whole file (unreadable, too big)
  int column = 0;  // 1-based
  std::string message;

  // "FILE:LINE:COL: message", or "FILE: message" without a position.
  std::string to_string() const;
};

struct LoadResult {
  std::shared_ptr<const Policy> policy;  // set on success
  LoadError error;                       // meaningful only when !ok()
  bool ok() const noexcept { return policy != nullptr; }
};

// Largest policy file read; protects the daemon from being pointed at a huge or endless file.
inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;

// Reads and validates the file. Never throws for bad input: every problem is a LoadError.
LoadResult load_policy_file(const std::string& path);

// Same for text already in memory; `file` only names it in errors.
LoadResult load_policy_string(std::string_view yaml, std::string_view file);

}  // namespace confinefs::policy
