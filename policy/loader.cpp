#include "policy/loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "policy/sections.h"
#include "policy/yaml_read.h"

namespace confinefs::policy {
namespace {

using detail::Field;
using detail::FieldError;

// Checked before anything else: a future version may give the other keys new meanings.
void check_version(const Field& root) {
  if (!root.value.IsMap())
    root.fail("a policy must be a map of keys, got " +
              std::string(root.value.IsSequence() ? "a list" : "a value"));
  YAML::Node v = root.value["version"];
  if (!v) root.fail("'version' is required");
  if (!v.IsScalar() || v.Scalar() != "1") {
    std::string got = v.IsScalar() ? v.Scalar() : "a non-scalar value";
    detail::fail_at(v.Mark(), "unsupported version '" + got + "'; this confinefs reads version 1");
  }
}

std::shared_ptr<const Policy> parse(const YAML::Node& doc) {
  Field root{"", doc, YAML::Mark()};
  root.key_mark.line = 0;  // an empty document has no position of its own
  root.key_mark.column = 0;
  if (doc.IsNull()) root.fail("policy file is empty; it needs at least 'version: 1'");
  check_version(root);
  Settings settings;
  std::vector<Rule> rules;
  detail::for_each_entry(
      root,
      {"version", "tenant", "mode", "rules", "hardlinks", "links", "fifos", "sockets", "limits",
       "create", "xattrs", "audit", "backing", "mountpoint"},
      [&](const Field& f) {
        if (f.name == "rules") {
          rules = detail::read_rules(f);
        } else if (f.name != "version") {
          detail::read_setting(f, &settings);
        }
      });
  return std::make_shared<const Policy>(std::move(settings), std::move(rules));
}

LoadError error_at(std::string_view file, const YAML::Mark& mark, std::string message) {
  // yaml-cpp marks are 0-based; a null mark (-1) means "no position", shown as 1:1.
  return {std::string(file), std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1,
          std::move(message)};
}

}  // namespace

std::string LoadError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_policy_string(std::string_view yaml, std::string_view file) {
  LoadResult result;
  try {
    result.policy = parse(YAML::Load(std::string(yaml)));
  } catch (const FieldError& e) {
    result.error = error_at(file, e.mark, e.message);
  } catch (const YAML::ParserException& e) {
    result.error = error_at(file, e.mark, "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    result.error = error_at(file, e.mark, "invalid YAML: " + e.msg);
  }
  return result;
}

LoadResult load_policy_file(const std::string& path) {
  LoadResult result;
  result.error.file = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result.error.message = std::string("cannot open: ") + std::strerror(errno);
    return result;
  }
  std::string text(kMaxPolicyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    result.error.message = std::string("cannot read: ") + std::strerror(errno);
    return result;
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPolicyFileBytes) {
    result.error.message = "file is larger than 1 MiB";
    return result;
  }
  return load_policy_string(text, path);
}

}  // namespace confinefs::policy
