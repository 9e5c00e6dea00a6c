#include "policy/size.h"

#include <array>
#include <limits>

namespace confinefs::policy {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

constexpr uint64_t kKi = 1024, kK = 1000;
constexpr std::array<Unit, 16> kUnits{{
    {"B", 1},
    {"K", kKi},
    {"KiB", kKi},
    {"KB", kK},
    {"M", kKi* kKi},
    {"MiB", kKi* kKi},
    {"MB", kK* kK},
    {"G", kKi* kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"GB", kK* kK* kK},
    {"T", kKi* kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
    {"TB", kK* kK* kK* kK},
    {"P", kKi* kKi* kKi* kKi* kKi},
    {"PiB", kKi* kKi* kKi* kKi* kKi},
    {"PB", kK* kK* kK* kK* kK},
}};

// Built by appending: g++ 12 at -O3 reports a false -Wrestrict for "'" + std::string(s).
std::string quote(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('\'');
  q.append(s);
  q.push_back('\'');
  return q;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Parses the leading digits; *end is set past them. nullopt on overflow.
std::optional<uint64_t> leading_number(std::string_view text, size_t* end) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  *end = i;
  return v;
}

std::optional<uint64_t> fail(std::string* error, std::string msg) {
  *error = std::move(msg);
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text, std::string* error) {
  if (!text.empty() && text.front() == '-') return fail(error, quote(text) + " is negative");
  size_t end = 0;
  std::optional<uint64_t> n = leading_number(text, &end);
  if (!n) return fail(error, quote(text) + " does not fit in 64 bits");
  if (end == 0) {
    return fail(error, quote(text) + " is not a size; write bytes or a number with a unit, " +
                           "e.g. 10M or 1GiB");
  }
  std::string_view suffix = text.substr(end);
  if (suffix.empty()) return n;
  if (suffix.front() == '.') return fail(error, quote(text) + " is not a whole number");
  for (const Unit& u : kUnits) {
    if (u.suffix != suffix) continue;
    if (*n > std::numeric_limits<uint64_t>::max() / u.factor) {
      return fail(error, quote(text) + " does not fit in 64 bits");
    }
    return *n * u.factor;
  }
  return fail(error, quote(text) + " has an unknown unit " + quote(suffix) +
                         "; use B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB (x1024) or KB, MB, GB, " +
                         "TB, PB (x1000)");
}

std::optional<uint64_t> parse_count(std::string_view text, std::string* error) {
  if (!text.empty() && text.front() == '-') return fail(error, quote(text) + " is negative");
  size_t end = 0;
  std::optional<uint64_t> n = leading_number(text, &end);
  if (!n) return fail(error, quote(text) + " does not fit in 64 bits");
  if (end == 0 || end != text.size()) {
    return fail(error, quote(text) + " is not a whole number");
  }
  return n;
}

std::string describe_size(uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kNames{"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes == 0 || bytes % kKi != 0) return std::to_string(bytes) + " bytes";
  size_t unit = 0;
  uint64_t v = bytes / kKi;
  while (unit + 1 < kNames.size() && v % kKi == 0) {
    v /= kKi;
    ++unit;
  }
  return std::to_string(v) + " " + std::string(kNames[unit]);
}

}  // namespace confinefs::policy
