// The normalized summary printed by `confinefs --check-policy FILE`.
#pragma once

#include <string>

#include "policy/policy.h"

namespace confinefs::policy {

// A canonical policy file for `p`: every field with its effective value (defaults included),
// globs in canonical form, comments giving each rule's index, source line and specificity.
// It is valid policy YAML and loads back to an equivalent policy (same summary).
std::string summarize(const Policy& p);

}  // namespace confinefs::policy
