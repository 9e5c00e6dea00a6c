#include "policy/sections.h"

#include <optional>

#include "policy/size.h"

namespace confinefs::policy::detail {
namespace {

template <typename T>
T pick(const Field& f, std::initializer_list<std::pair<std::string_view, T>> words,
       std::string_view expected) {
  if (f.value.IsScalar()) {
    for (const auto& [word, value] : words) {
      if (f.value.Scalar() == word) return value;
    }
  }
  f.fail_type(expected);
}

Access read_access(const Field& f) {
  return pick<Access>(f,
                      {{"hidden", Access::kHidden},
                       {"deny", Access::kDeny},
                       {"read-only", Access::kReadOnly},
                       {"read-write", Access::kReadWrite}},
                      "hidden, deny, read-only or read-write");
}

std::string read_absolute_path(const Field& f, std::string_view expected) {
  const std::string& s = f.scalar();
  if (s.front() != '/') f.fail_type(expected);
  return s;
}

Rule read_rule(const Field& item, std::vector<Glob>* seen) {
  std::optional<Field> path, access;
  for_each_entry(item, {"path", "access"},
                 [&](const Field& f) { (f.name.ends_with(".path") ? path : access) = f; });
  if (!path) item.fail("'" + item.name + ".path' is required");
  if (!access) item.fail("'" + item.name + ".access' is required");
  // An empty string is a scalar: let the glob compiler say "rule path is empty".
  const std::string& text = path->value.IsScalar() ? path->value.Scalar() : path->scalar();
  Rule rule{text, read_access(*access), path->mark().line + 1};
  std::string error;
  std::optional<Glob> glob = Glob::compile(rule.glob, &error);
  if (!glob) path->fail(error);
  // A second rule with the same canonical glob could never win: almost surely a mistake.
  for (size_t i = 0; i < seen->size(); ++i) {
    if ((*seen)[i].normalized() == glob->normalized()) {
      path->fail("'" + item.name + ".path' names the same paths as rules[" + std::to_string(i) +
                 "]; the later rule could never apply");
    }
  }
  seen->push_back(std::move(*glob));
  return rule;
}

uint64_t positive(const Field& f, std::optional<uint64_t> v, const std::string& error) {
  if (!v) f.fail("'" + f.name + "': " + error);
  if (*v == 0) f.fail("'" + f.name + "' must be more than 0 (omit it for no limit)");
  return *v;
}

void read_limits(const Field& section, Limits* limits) {
  for_each_entry(section, {"max_file_size", "quota_bytes", "quota_inodes", "max_name_length"},
                 [&](const Field& f) {
                   std::string error;
                   const std::string& text = f.scalar();
                   if (f.name == "limits.max_file_size") {
                     limits->max_file_size = positive(f, parse_size(text, &error), error);
                   } else if (f.name == "limits.quota_bytes") {
                     limits->quota_bytes = positive(f, parse_size(text, &error), error);
                   } else if (f.name == "limits.quota_inodes") {
                     limits->quota_inodes = positive(f, parse_count(text, &error), error);
                   } else {
                     uint64_t n = positive(f, parse_count(text, &error), error);
                     if (n > 255)
                       f.fail("'" + f.name + "' must be at most 255, got '" + text + "'");
                     limits->max_name_length = static_cast<uint32_t>(n);
                   }
                 });
}

// Octal digits as for the shell's umask builtin: "22", "022" and "0022" are the same.
uint32_t read_umask(const Field& f) {
  const std::string& s = f.scalar();
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7' || s.size() > 4) f.fail_type("octal digits like 0022");
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 0777) f.fail_type("at most 0777");
  return v;
}

void read_create(const Field& section, CreateOptions* create) {
  for_each_entry(section, {"umask", "allow_chown"}, [&](const Field& f) {
    if (f.name == "create.umask") {
      create->umask = read_umask(f);
    } else {
      create->allow_chown = f.boolean();
    }
  });
}

unsigned read_namespaces(const Field& list) {
  list.expect_list();
  unsigned bits = 0;
  for (size_t i = 0; i < list.value.size(); ++i) {
    Field item{list.name + "[" + std::to_string(i) + "]", list.value[i], list.value.Mark()};
    const std::string& word = item.scalar();
    if (word == "security" || word == "trusted") {
      item.fail("xattr namespace '" + word + "' can never be allowed: confinefs does not pass " +
                "security.* or trusted.* attributes");
    }
    unsigned bit =
        pick<unsigned>(item, {{"user", kXattrUser}, {"system", kXattrSystem}}, "user or system");
    if (bits & bit) item.fail("'" + item.name + "' repeats '" + word + "'");
    bits |= bit;
  }
  return bits;
}

void read_audit(const Field& section, AuditOptions* audit) {
  for_each_entry(section, {"sink", "log_allowed_mutations"}, [&](const Field& f) {
    if (f.name == "audit.log_allowed_mutations") {
      audit->log_allowed_mutations = f.boolean();
      return;
    }
    const std::string& s = f.scalar();
    audit->file.clear();
    if (s == "stderr") {
      audit->sink = AuditSink::kStderr;
    } else if (s == "journald") {
      audit->sink = AuditSink::kJournald;
    } else {
      audit->file = read_absolute_path(f, "stderr, journald or an absolute file path");
      audit->sink = AuditSink::kFile;
    }
  });
}

bool valid_tenant(const std::string& s) {
  if (s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<Rule> read_rules(const Field& rules) {
  rules.expect_list();
  std::vector<Rule> out;
  std::vector<Glob> seen;
  for (size_t i = 0; i < rules.value.size(); ++i) {
    Field item{"rules[" + std::to_string(i) + "]", rules.value[i], rules.value.Mark()};
    out.push_back(read_rule(item, &seen));
  }
  return out;
}

void read_setting(const Field& f, Settings* s) {
  if (f.name == "tenant") {
    s->tenant = f.scalar();
    // The name goes into every log and audit line: keep it to characters that need no escaping.
    if (!valid_tenant(s->tenant)) f.fail_type("1 to 64 characters from A-Z a-z 0-9 . _ -");
  } else if (f.name == "mode") {
    s->mode =
        pick<Access>(f, {{"read-write", Access::kReadWrite}, {"read-only", Access::kReadOnly}},
                     "read-write or read-only");
  } else if (f.name == "hardlinks") {
    s->hardlinks = pick<HardlinkMode>(
        f, {{"refuse", HardlinkMode::kRefuse}, {"read-only", HardlinkMode::kReadOnly}},
        "refuse or read-only");
  } else if (f.name == "links") {
    s->objects.links =
        pick<LinkMode>(f, {{"refuse", LinkMode::kRefuse}, {"contained", LinkMode::kContained}},
                       "refuse or contained");
  } else if (f.name == "fifos" || f.name == "sockets") {
    (f.name == "fifos" ? s->objects.fifos : s->objects.sockets) = pick<ObjectMode>(
        f, {{"refuse", ObjectMode::kRefuse}, {"mount", ObjectMode::kMount}}, "refuse or mount");
  } else if (f.name == "limits") {
    read_limits(f, &s->limits);
  } else if (f.name == "create") {
    read_create(f, &s->create);
  } else if (f.name == "xattrs") {
    for_each_entry(f, {"namespaces"},
                   [&](const Field& ns) { s->xattr_namespaces = read_namespaces(ns); });
  } else if (f.name == "audit") {
    read_audit(f, &s->audit);
  } else if (f.name == "backing") {
    s->backing = read_absolute_path(f, "an absolute path");
  } else if (f.name == "mountpoint") {
    s->mountpoint = read_absolute_path(f, "an absolute path");
  }
}

}  // namespace confinefs::policy::detail
