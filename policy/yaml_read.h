// Typed reads from a yaml-cpp tree that fail with a message and the node's position.
// Internal to the loader; yaml-cpp types do not appear in the public headers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace confinefs::policy::detail {

// Thrown by the readers, caught once in the loader and turned into a LoadError.
struct FieldError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail_at(const YAML::Mark& mark, std::string message);

// A value node paired with the key that introduced it, so errors can point at the key when the
// value is empty (yaml-cpp places an empty value's mark on the following line).
struct Field {
  std::string name;  // dotted path for messages, e.g. "limits.max_file_size"
  YAML::Node value;
  YAML::Mark key_mark;

  YAML::Mark mark() const;
  [[noreturn]] void fail(std::string message) const;
  [[noreturn]] void fail_type(std::string_view expected) const;

  const std::string& scalar() const;  // a non-empty string
  bool boolean() const;               // exactly true or false
  void expect_map() const;
  void expect_list() const;
};

// Calls fn for each entry of the map `f` in file order. Rejects duplicate keys and keys not in
// `allowed` (suggesting the closest allowed key).
void for_each_entry(const Field& f, std::initializer_list<std::string_view> allowed,
                    const std::function<void(const Field&)>& fn);

}  // namespace confinefs::policy::detail
