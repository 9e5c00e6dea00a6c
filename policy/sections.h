// Readers for each section of a policy file; internal to the loader.
#pragma once

#include <vector>

#include "policy/policy.h"
#include "policy/yaml_read.h"

namespace confinefs::policy::detail {

// The ordered rule list; every glob is compiled here so a bad one is reported with its position.
std::vector<Rule> read_rules(const Field& rules);

// One top-level key other than "version" and "rules".
void read_setting(const Field& f, Settings* settings);

}  // namespace confinefs::policy::detail
