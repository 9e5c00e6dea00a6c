// Sizes and counts as written in policy files ("10M", "1GiB", "500000").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confinefs::policy {

// Digits with an optional unit: B (1), K M G T P and KiB MiB GiB TiB PiB (powers of 1024),
// KB MB GB TB PB (powers of 1000). Case-sensitive, no spaces, no fractions, no sign.
// Returns nullopt with *error set to a message quoting `text`.
std::optional<uint64_t> parse_size(std::string_view text, std::string* error);

// Plain decimal digits, no unit.
std::optional<uint64_t> parse_count(std::string_view text, std::string* error);

// "104857600" -> "100 MiB" (exact binary units only; otherwise "N bytes").
std::string describe_size(uint64_t bytes);

}  // namespace confinefs::policy
