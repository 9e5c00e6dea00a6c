// summarize(): the normalized text printed by --check-policy.
#include "policy/summary.h"

#include <gtest/gtest.h>

#include "policy/loader.h"

namespace confinefs::policy {
namespace {

std::shared_ptr<const Policy> load(const std::string& yaml) {
  LoadResult r = load_policy_string(yaml, "p");
  EXPECT_TRUE(r.ok()) << r.error.to_string();
  return r.policy ? r.policy : Policy::defaults();
}

TEST(Summary, MinimalPolicyShowsEveryDefault) {
  EXPECT_EQ(summarize(*load("version: 1\n")),
            R"(# confinefs policy, normalized: every default filled in
version: 1
tenant: "default"
mode: read-write
hardlinks: refuse
links: contained
fifos: mount
sockets: mount
rules: []
limits: {}
  # max_file_size: unlimited
  # quota_bytes: unlimited
  # quota_inodes: unlimited
  # max_name_length: unlimited
create:
  umask: "0000"
  allow_chown: false
xattrs:
  namespaces: [user]
audit:
  sink: stderr
  log_allowed_mutations: false
# backing: unset
# mountpoint: unset
)");
}

const char* kFull = R"(version: 1
tenant: lab
mode: read-only
links: refuse
sockets: refuse
rules:
  - {path: /data/**, access: read-only}
  - {path: /data/tmp, access: read-write}
  - {path: /**/*.key, access: hidden}
limits: {max_file_size: 10M, quota_inodes: 500}
create: {umask: "7"}
xattrs: {namespaces: [system, user]}
audit: {sink: "/var/log/a \"b\".jsonl"}
backing: /srv/lab
)";

TEST(Summary, FullPolicy) {
  EXPECT_EQ(summarize(*load(kFull)),
            R"(# confinefs policy, normalized: every default filled in
version: 1
tenant: "lab"
mode: read-only
hardlinks: refuse
links: refuse
fifos: mount
sockets: refuse
rules:  # nearest match wins, then most specific, then first listed
  - path: "/data"
    access: read-only  # rules[0], line 7, specificity 1.1.4, written "/data/**"
  - path: "/data/tmp"
    access: read-write  # rules[1], line 8, specificity 2.2.7, no effect: mode is read-only
  - path: "/**/*.key"
    access: hidden  # rules[2], line 9, specificity 0.1.4
limits:
  max_file_size: 10485760  # 10 MiB
  # quota_bytes: unlimited
  quota_inodes: 500
  # max_name_length: unlimited
create:
  umask: "0007"
  allow_chown: false
xattrs:
  namespaces: [user, system]
audit:
  sink: "/var/log/a \"b\".jsonl"
  log_allowed_mutations: false
backing: "/srv/lab"
# mountpoint: unset
)");
}

// Comments (source lines, spelling) may change; the settings may not.
std::string without_comments(const std::string& s) {
  std::string out;
  for (size_t at = 0; at < s.size();) {
    size_t eol = s.find('\n', at);
    std::string line = s.substr(at, eol - at);
    at = eol + 1;
    if (size_t hash = line.find("  #"); hash != std::string::npos) line.erase(hash);
    if (!line.empty() && line.front() != '#') out += line + "\n";
  }
  return out;
}

TEST(Summary, IsAValidPolicyThatSummarizesToItself) {
  for (std::string yaml : {std::string(kFull), std::string("version: 1\n")}) {
    std::string once = summarize(*load(yaml));
    std::string twice = summarize(*load(once));
    EXPECT_EQ(without_comments(once), without_comments(twice));
    EXPECT_EQ(twice, summarize(*load(twice)));  // a fixed point from the second round on
  }
}

}  // namespace
}  // namespace confinefs::policy
