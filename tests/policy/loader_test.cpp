// The loader: every malformed file gives one exact message at an exact position.
#include "policy/loader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace confinefs::policy {
namespace {

struct Malformed {
  const char* name;
  const char* yaml;
  int line;
  int column;
  const char* message;
};

// clang-format off
const Malformed kMalformed[] = {
  {"empty file", "", 1, 1, "policy file is empty; it needs at least 'version: 1'"},
  {"comments only", "# nothing\n", 1, 1, "policy file is empty; it needs at least 'version: 1'"},
  {"bad yaml", "version: 1\nrules: [\n", 3, 1, "invalid YAML: end of sequence flow not found"},
  {"bad indentation", "version: 1\n  tenant: x\n", 2, 9, "invalid YAML: illegal map value"},
  {"top level list", "- version: 1\n", 1, 1, "a policy must be a map of keys, got a list"},
  {"top level scalar", "hello\n", 1, 1, "a policy must be a map of keys, got a value"},
  {"missing version", "tenant: a\n", 1, 1, "'version' is required"},
  {"version 2", "tenant: a\nversion: 2\n", 2, 10,
   "unsupported version '2'; this confinefs reads version 1"},
  {"misspelt key", "version: 1\nlimit: {}\n", 2, 1, "unknown key 'limit'; did you mean 'limits'?"},
  {"unknown key", "version: 1\nfoo: 1\n", 2, 1,
   "unknown key 'foo'; expected version, tenant, mode, rules, hardlinks, links, fifos, sockets, "
   "limits, create, xattrs, audit, backing or mountpoint"},
  {"duplicate key", "version: 1\ntenant: a\ntenant: b\n", 3, 1, "duplicate key 'tenant'"},
  {"links word", "version: 1\nlinks: follow\n", 2, 8,
   "'links' must be refuse or contained, got 'follow'"},
  {"fifos word", "version: 1\nfifos: yes\n", 2, 8, "'fifos' must be refuse or mount, got 'yes'"},
  {"tenant list", "version: 1\ntenant: [a]\n", 2, 9, "'tenant' must be a string, got a list"},
  {"tenant empty", "version: 1\ntenant:\n", 2, 1, "'tenant' must be a string, got nothing"},
  {"tenant chars", "version: 1\ntenant: a b\n", 2, 9,
   "'tenant' must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got 'a b'"},
  {"mode word", "version: 1\nmode: hidden\n", 2, 7,
   "'mode' must be read-write or read-only, got 'hidden'"},
  {"hardlinks word", "version: 1\nhardlinks: allow\n", 2, 12,
   "'hardlinks' must be refuse or read-only, got 'allow'"},
  {"rules not a list", "version: 1\nrules: {path: /a}\n", 2, 8,
   "'rules' must be a list, got a map"},
  {"rule not a map", "version: 1\nrules:\n  - /a\n", 3, 5, "'rules[0]' must be a map, got '/a'"},
  {"rule without access", "version: 1\nrules:\n  - path: /a\n", 3, 5,
   "'rules[0].access' is required"},
  {"rule without path", "version: 1\nrules:\n  - {path: /a, access: deny}\n  - access: deny\n",
   4, 5, "'rules[1].path' is required"},
  {"rule key typo", "version: 1\nrules:\n  - {path: /a, acess: deny}\n", 3, 16,
   "unknown key 'rules[0].acess'; did you mean 'access'?"},
  {"access word", "version: 1\nrules:\n  - path: /a\n    access: readonly\n", 4, 13,
   "'rules[0].access' must be hidden, deny, read-only or read-write, got 'readonly'"},
  {"access list", "version: 1\nrules:\n  - path: /a\n    access: [deny]\n", 4, 13,
   "'rules[0].access' must be hidden, deny, read-only or read-write, got a list"},
  {"glob empty", "version: 1\nrules:\n  - path: \"\"\n    access: deny\n", 3, 11,
   "rule path is empty"},
  {"glob relative", "version: 1\nrules:\n  - path: inputs\n    access: deny\n", 3, 11,
   "rule path 'inputs': must start with '/'"},
  {"glob triple star", "version: 1\nrules:\n  - path: /a/***\n    access: deny\n", 3, 11,
   "rule path '/a/***': '**' must be a whole component"},
  {"glob partial globstar", "version: 1\nrules:\n  - path: /a/b**\n    access: deny\n", 3, 11,
   "rule path '/a/b**': '**' must be a whole component"},
  {"glob dotdot", "version: 1\nrules:\n  - path: /a/../b\n    access: deny\n", 3, 11,
   "rule path '/a/../b': '..' component"},
  {"glob dot", "version: 1\nrules:\n  - path: /./b\n    access: deny\n", 3, 11,
   "rule path '/./b': '.' component"},
  {"glob reserved", "version: 1\nrules:\n  - path: /a?\n    access: deny\n", 3, 11,
   "rule path '/a?': '?' is reserved (only '*' and '**' are wildcards)"},
  {"glob trailing slash", "version: 1\nrules:\n  - path: /a/\n    access: deny\n", 3, 11,
   "rule path '/a/': must not end with '/'"},
  {"duplicate rule", "version: 1\nrules:\n  - {path: /a, access: deny}\n"
   "  - {path: /a/**, access: hidden}\n", 4, 12,
   "'rules[1].path' names the same paths as rules[0]; the later rule could never apply"},
  {"limits not a map", "version: 1\nlimits: 10M\n", 2, 9, "'limits' must be a map, got '10M'"},
  {"size unit", "version: 1\nlimits:\n  max_file_size: 10X\n", 3, 18,
   "'limits.max_file_size': '10X' has an unknown unit 'X'; use B, K/KiB, M/MiB, G/GiB, T/TiB, "
   "P/PiB (x1024) or KB, MB, GB, TB, PB (x1000)"},
  {"size words", "version: 1\nlimits:\n  quota_bytes: lots\n", 3, 16,
   "'limits.quota_bytes': 'lots' is not a size; write bytes or a number with a unit, e.g. 10M "
   "or 1GiB"},
  {"size fraction", "version: 1\nlimits:\n  quota_bytes: 1.5G\n", 3, 16,
   "'limits.quota_bytes': '1.5G' is not a whole number"},
  {"size negative", "version: 1\nlimits:\n  quota_bytes: -1\n", 3, 16,
   "'limits.quota_bytes': '-1' is negative"},
  {"size space", "version: 1\nlimits:\n  quota_bytes: 10 M\n", 3, 16,
   "'limits.quota_bytes': '10 M' has an unknown unit ' M'; use B, K/KiB, M/MiB, G/GiB, T/TiB, "
   "P/PiB (x1024) or KB, MB, GB, TB, PB (x1000)"},
  {"size overflow", "version: 1\nlimits:\n  quota_bytes: 20000000T\n", 3, 16,
   "'limits.quota_bytes': '20000000T' does not fit in 64 bits"},
  {"size zero", "version: 1\nlimits:\n  max_file_size: 0\n", 3, 18,
   "'limits.max_file_size' must be more than 0 (omit it for no limit)"},
  {"inodes unit", "version: 1\nlimits:\n  quota_inodes: 10K\n", 3, 17,
   "'limits.quota_inodes': '10K' is not a whole number"},
  {"name length", "version: 1\nlimits:\n  max_name_length: 300\n", 3, 20,
   "'limits.max_name_length' must be at most 255, got '300'"},
  {"limits key", "version: 1\nlimits:\n  quota: 1G\n", 3, 3,
   "unknown key 'limits.quota'; expected max_file_size, quota_bytes, quota_inodes or "
   "max_name_length"},
  {"umask digits", "version: 1\ncreate:\n  umask: \"0999\"\n", 3, 10,
   "'create.umask' must be octal digits like 0022, got '0999'"},
  {"umask range", "version: 1\ncreate:\n  umask: 1777\n", 3, 10,
   "'create.umask' must be at most 0777, got '1777'"},
  {"chown yes", "version: 1\ncreate:\n  allow_chown: yes\n", 3, 16,
   "'create.allow_chown' must be true or false, got 'yes'"},
  {"xattr security", "version: 1\nxattrs:\n  namespaces: [user, security]\n", 3, 22,
   "xattr namespace 'security' can never be allowed: confinefs does not pass security.* or "
   "trusted.* attributes"},
  {"xattr word", "version: 1\nxattrs:\n  namespaces: [usr]\n", 3, 16,
   "'xattrs.namespaces[0]' must be user or system, got 'usr'"},
  {"xattr repeat", "version: 1\nxattrs:\n  namespaces: [user, user]\n", 3, 22,
   "'xattrs.namespaces[1]' repeats 'user'"},
  {"xattr not list", "version: 1\nxattrs:\n  namespaces: user\n", 3, 15,
   "'xattrs.namespaces' must be a list, got 'user'"},
  {"audit sink", "version: 1\naudit:\n  sink: audit.log\n", 3, 9,
   "'audit.sink' must be stderr, journald or an absolute file path, got 'audit.log'"},
  {"audit bool", "version: 1\naudit:\n  log_allowed_mutations: 1\n", 3, 26,
   "'audit.log_allowed_mutations' must be true or false, got '1'"},
  {"backing relative", "version: 1\nbacking: srv/x\n", 2, 10,
   "'backing' must be an absolute path, got 'srv/x'"},
  {"mountpoint map", "version: 1\nmountpoint: {a: b}\n", 2, 13,
   "'mountpoint' must be a string, got a map"},
};
// clang-format on

void PrintTo(const Malformed& m, std::ostream* os) { *os << m.name; }

class MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTest, ReportsExactMessageAndPosition) {
  const Malformed& m = GetParam();
  LoadResult r = load_policy_string(m.yaml, "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, m.message);
  EXPECT_EQ(r.error.line, m.line);
  EXPECT_EQ(r.error.column, m.column);
  EXPECT_EQ(r.error.file, "p.yaml");
}

INSTANTIATE_TEST_SUITE_P(Loader, MalformedTest, ::testing::ValuesIn(kMalformed),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

TEST(Loader, ErrorFormatsOnOneLine) {
  LoadResult r = load_policy_string("version: 1\nmode: x\n", "/etc/confinefs/t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.to_string(),
            "/etc/confinefs/t.yaml:2:7: 'mode' must be read-write or read-only, got 'x'");
  EXPECT_EQ((LoadError{"f", 0, 0, "cannot open"}).to_string(), "f: cannot open");
}

TEST(Loader, MinimalFileGivesDefaults) {
  LoadResult r = load_policy_string("version: 1\n", "p");
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  const Policy& p = *r.policy;
  EXPECT_EQ(p.tenant(), "default");
  EXPECT_EQ(p.mode(), Access::kReadWrite);
  EXPECT_FALSE(p.has_rules());
  EXPECT_EQ(p.hardlinks(), HardlinkMode::kRefuse);
  EXPECT_FALSE(p.limits().quota_bytes);
  EXPECT_EQ(p.create().umask, 0u);
  EXPECT_FALSE(p.create().allow_chown);
  EXPECT_EQ(p.xattr_namespaces(), unsigned{kXattrUser});
  EXPECT_EQ(p.audit().sink, AuditSink::kStderr);
  EXPECT_FALSE(p.audit().log_allowed_mutations);
  EXPECT_FALSE(p.backing());
}

TEST(Loader, FullFileSetsEveryField) {
  const char* yaml = R"(version: 1
tenant: t-1
mode: read-only
rules:
  - {path: /in, access: read-only}
  - path: /in/**/*.key
    access: hidden
hardlinks: read-only
limits: {max_file_size: 10M, quota_bytes: 1GiB, quota_inodes: 1000, max_name_length: 100}
create: {umask: 27, allow_chown: true}
xattrs: {namespaces: [system, user]}
audit: {sink: /var/log/a.jsonl, log_allowed_mutations: true}
backing: /srv/b
mountpoint: /mnt/m
)";
  LoadResult r = load_policy_string(yaml, "p");
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  const Policy& p = *r.policy;
  EXPECT_EQ(p.tenant(), "t-1");
  EXPECT_EQ(p.mode(), Access::kReadOnly);
  ASSERT_EQ(p.rules().size(), 2u);
  EXPECT_EQ(p.rules()[1].glob, "/in/**/*.key");
  EXPECT_EQ(p.rules()[1].access, Access::kHidden);
  EXPECT_EQ(p.rules()[1].line, 6);
  EXPECT_EQ(p.hardlinks(), HardlinkMode::kReadOnly);
  EXPECT_EQ(p.limits().max_file_size, 10u << 20);
  EXPECT_EQ(p.limits().quota_bytes, 1u << 30);
  EXPECT_EQ(p.limits().quota_inodes, 1000u);
  EXPECT_EQ(p.limits().max_name_length, 100u);
  EXPECT_EQ(p.create().umask, 027u);
  EXPECT_TRUE(p.create().allow_chown);
  EXPECT_EQ(p.xattr_namespaces(), unsigned{kXattrUser | kXattrSystem});
  EXPECT_EQ(p.audit().sink, AuditSink::kFile);
  EXPECT_EQ(p.audit().file, "/var/log/a.jsonl");
  EXPECT_TRUE(p.audit().log_allowed_mutations);
  EXPECT_EQ(p.backing(), "/srv/b");
  EXPECT_EQ(p.mountpoint(), "/mnt/m");
  EXPECT_EQ(p.decide("/in/a/b.key").access, Access::kHidden);
}

TEST(Loader, MissingFile) {
  LoadResult r = load_policy_file("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.to_string(),
            "/nonexistent/policy.yaml: cannot open: No such file or directory");
}

TEST(Loader, FileTooLarge) {
  std::string path = ::testing::TempDir() + "big.yaml";
  {
    std::ofstream out(path);
    out << "version: 1\n" << std::string(kMaxPolicyFileBytes, '#') << "\n";
  }
  LoadResult r = load_policy_file(path);
  std::remove(path.c_str());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message, "file is larger than 1 MiB");
}

TEST(Loader, DirectoryIsAnError) {
  LoadResult r = load_policy_file("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.line, 0);
}

}  // namespace
}  // namespace confinefs::policy
