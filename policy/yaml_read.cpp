#include "policy/yaml_read.h"

#include <algorithm>
#include <set>
#include <vector>

namespace confinefs::policy::detail {
namespace {

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    default: return "nothing";
  }
}

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& name, std::string_view key,
                                std::initializer_list<std::string_view> allowed) {
  std::string msg = "unknown key '" + name + "'";
  for (std::string_view a : allowed) {
    if (distance(key, a) <= 2) return msg + "; did you mean '" + std::string(a) + "'?";
  }
  msg += "; expected ";
  for (auto it = allowed.begin(); it != allowed.end(); ++it) {
    if (it != allowed.begin()) msg += std::next(it) == allowed.end() ? " or " : ", ";
    msg += *it;
  }
  return msg;
}

}  // namespace

void fail_at(const YAML::Mark& mark, std::string message) {
  throw FieldError{mark, std::move(message)};
}

YAML::Mark Field::mark() const { return value.IsNull() ? key_mark : value.Mark(); }

void Field::fail(std::string message) const { fail_at(mark(), std::move(message)); }

void Field::fail_type(std::string_view expected) const {
  fail("'" + name + "' must be " + std::string(expected) + ", got " + kind_of(value));
}

const std::string& Field::scalar() const {
  if (!value.IsScalar() || value.Scalar().empty()) fail_type("a string");
  return value.Scalar();
}

bool Field::boolean() const {
  if (!value.IsScalar()) fail_type("true or false");
  // Only the two canonical words: "yes", "on" and friends are YAML 1.1 traps.
  if (value.Scalar() == "true") return true;
  if (value.Scalar() == "false") return false;
  fail_type("true or false");
}

void Field::expect_map() const {
  if (!value.IsMap()) fail_type("a map");
}

void Field::expect_list() const {
  if (!value.IsSequence()) fail_type("a list");
}

void for_each_entry(const Field& f, std::initializer_list<std::string_view> allowed,
                    const std::function<void(const Field&)>& fn) {
  f.expect_map();
  std::string prefix = f.name.empty() ? "" : f.name + ".";
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : f.value) {
    YAML::Node key = entry.first;
    if (!key.IsScalar()) fail_at(key.Mark(), "keys must be plain words, got " + kind_of(key));
    const std::string& k = key.Scalar();
    std::string name = prefix + k;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      fail_at(key.Mark(), unknown_key_message(name, k, allowed));
    }
    if (!seen.insert(k).second) fail_at(key.Mark(), "duplicate key '" + name + "'");
    fn(Field{name, entry.second, key.Mark()});
  }
}

}  // namespace confinefs::policy::detail
