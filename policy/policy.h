// Policy: what a tenant may do, decided on the virtual path confinefs resolved itself.
// This header is the contract between policy/ and the daemon: policy/ knows nothing of FUSE or fds.
// Threat (threat 4): rules checked against racy host path strings can be bypassed;
// here they are checked against the daemon's own virtual path, component by component.
// Invariant: a Policy is immutable once built, so the daemon can share it between threads and
// swap a shared_ptr<const Policy> on reload. decide() and friends never allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/glob.h"

namespace confinefs::policy {

// Ordered from least to most restrictive; "stricter" comparisons rely on this order.
enum class Access : unsigned char { kReadWrite, kReadOnly, kDeny, kHidden };
const char* access_name(Access a) noexcept;
inline Access stricter(Access a, Access b) noexcept { return a < b ? b : a; }

enum class HardlinkMode : unsigned char { kRefuse, kReadOnly };
const char* hardlink_mode_name(HardlinkMode m) noexcept;

// Symlinks the sandbox makes: refused, or stored and served while contained in the mount
// (fusefs/objects/link_target.h).
enum class LinkMode : unsigned char { kRefuse, kContained };
const char* link_mode_name(LinkMode m) noexcept;
// FIFOs and unix sockets the sandbox makes: refused, or served to the mount that made them.
enum class ObjectMode : unsigned char { kRefuse, kMount };
const char* object_mode_name(ObjectMode m) noexcept;

struct Objects {
  LinkMode links = LinkMode::kContained;
  ObjectMode fifos = ObjectMode::kMount;
  ObjectMode sockets = ObjectMode::kMount;
};

struct Rule {
  std::string glob;  // virtual path glob from the mount root, e.g. "/inputs/**"
  Access access;
  int line = 0;  // 1-based line in the policy file, 0 when built in code; for audit messages
};

struct Limits {
  std::optional<uint64_t> max_file_size;
  std::optional<uint64_t> quota_bytes;
  std::optional<uint64_t> quota_inodes;
  std::optional<uint32_t> max_name_length;
};

struct CreateOptions {
  uint32_t umask = 0;        // cleared from every mode created, on top of the caller's umask
  bool allow_chown = false;  // chown to ids other than the caller's own
};

// Extended attribute namespaces a tenant may read and write. security.* and trusted.* can
// never be allowed (threat 12).
enum XattrNamespace : unsigned { kXattrUser = 1u << 0, kXattrSystem = 1u << 1 };

enum class AuditSink : unsigned char { kStderr, kJournald, kFile };

struct AuditOptions {
  AuditSink sink = AuditSink::kStderr;
  std::string file;  // absolute path when sink == kFile (JSON lines)
  bool log_allowed_mutations = false;
};

// Everything a policy file sets except the rules.
struct Settings {
  std::string tenant = "default";
  Access mode = Access::kReadWrite;  // kReadWrite or kReadOnly: a floor for every decision
  HardlinkMode hardlinks = HardlinkMode::kRefuse;
  Objects objects;
  Limits limits;
  CreateOptions create;
  unsigned xattr_namespaces = kXattrUser;  // XattrNamespace bits
  AuditOptions audit;
  std::optional<std::string> backing;  // deployment hints for the daemon; absolute paths
  std::optional<std::string> mountpoint;
};

struct Decision {
  Access access;
  int rule;  // index into Policy::rules() that decided, or -1 for the mount-wide mode
};

class Policy {
 public:
  // The policy in force without a policy file: read-write, no rules, hardlinks refused.
  static std::shared_ptr<const Policy> defaults();

  Policy() = default;
  // Compiles the rules; throws std::invalid_argument on a bad glob (load_policy_file() reports
  // those with a position instead, so it never throws).
  Policy(Settings settings, std::vector<Rule> rules);

  // virtual_path is "/" or "/a/b" (no trailing slash, no "." or "..").
  // A rule applies to the paths its glob matches and to everything beneath them; among the
  // rules that apply, the one whose match is nearest to the path wins, then the most specific,
  // then the first listed. The result is never less strict than mode().
  Decision decide(std::string_view virtual_path) const;
  bool has_rules() const noexcept { return !rules_.empty(); }

  // The strictest access that decide() can return for dir_path or any path beneath it, with
  // the rule giving it (-1: the mode or no rule). Conservative: counts every rule that could
  // match some descendant name, whether or not such a name exists.
  Decision strictest_in_subtree(std::string_view dir_path) const;

  // True when moving `from` to `to` keeps the access of `from` and of every path that could
  // exist beneath it (from/x/y gets the same access as to/x/y would). Conservative: may return
  // false for a move that would be harmless for the names actually present; never true for a
  // move that changes any path's access. Use for directories; for other files compare decide().
  bool rename_keeps_access(std::string_view from, std::string_view to) const;

  // Whether the full attribute name ("user.foo") is in an allowed namespace.
  bool xattr_allowed(std::string_view name) const noexcept;

  const std::string& tenant() const noexcept { return settings_.tenant; }
  Access mode() const noexcept { return settings_.mode; }
  const std::vector<Rule>& rules() const noexcept { return rules_; }
  HardlinkMode hardlinks() const noexcept { return settings_.hardlinks; }
  const Objects& objects() const noexcept { return settings_.objects; }
  const Limits& limits() const noexcept { return settings_.limits; }
  const CreateOptions& create() const noexcept { return settings_.create; }
  unsigned xattr_namespaces() const noexcept { return settings_.xattr_namespaces; }
  const AuditOptions& audit() const noexcept { return settings_.audit; }
  const std::optional<std::string>& backing() const noexcept { return settings_.backing; }
  const std::optional<std::string>& mountpoint() const noexcept { return settings_.mountpoint; }
  const Settings& settings() const noexcept { return settings_; }
  // Compiled form of rules()[i]; same indices.
  const std::vector<Glob>& globs() const noexcept { return globs_; }

 private:
  Decision floor_by_mode(Decision d) const noexcept;

  Settings settings_;
  std::vector<Rule> rules_;
  std::vector<Glob> globs_;
};

}  // namespace confinefs::policy
