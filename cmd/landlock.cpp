#include "cmd/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace confinefs::cmd {
namespace {

// The build host's <linux/landlock.h> may predate the running kernel, so the rights and fields
// added after ABI 2 are spelled out here (values from the kernel's UAPI, fixed forever).
constexpr uint64_t kFsExecute = 1ULL << 0;
constexpr uint64_t kFsWriteFile = 1ULL << 1;
constexpr uint64_t kFsReadFile = 1ULL << 2;
constexpr uint64_t kFsReadDir = 1ULL << 3;
constexpr uint64_t kFsRemoveDir = 1ULL << 4;
constexpr uint64_t kFsRemoveFile = 1ULL << 5;
constexpr uint64_t kFsMakeDir = 1ULL << 7;
constexpr uint64_t kFsMakeReg = 1ULL << 8;
constexpr uint64_t kFsMakeSym = 1ULL << 12;   // last right of ABI 1
constexpr uint64_t kFsRefer = 1ULL << 13;     // ABI 2
constexpr uint64_t kFsTruncate = 1ULL << 14;  // ABI 3
constexpr uint64_t kFsIoctlDev = 1ULL << 15;  // ABI 5
constexpr uint64_t kNetBindTcp = 1ULL << 0;   // ABI 4
constexpr uint64_t kNetConnectTcp = 1ULL << 1;
constexpr uint64_t kScopeAbstractUnix = 1ULL << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ULL << 1;

// struct landlock_ruleset_attr as of ABI 6; older kernels get a shorter prefix of it.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

uint64_t handled_fs(int abi) {
  uint64_t fs = (kFsMakeSym << 1) - 1;  // every ABI 1 right, execute and special files included
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  return fs;
}

// What the daemon does beneath BACKING: plain files and directories only. No execute, and no
// device, FIFO, socket or symlink creation (confinefs refuses those, so a bug cannot make them).
constexpr uint64_t kBackingRights = kFsReadFile | kFsWriteFile | kFsReadDir | kFsRemoveDir |
                                    kFsRemoveFile | kFsMakeDir | kFsMakeReg | kFsRefer |
                                    kFsTruncate;

size_t attr_size(int abi) {
  if (abi >= 6) return sizeof(RulesetAttr);
  if (abi >= 4) return offsetof(RulesetAttr, scoped);
  return offsetof(RulesetAttr, handled_access_net);
}

Result<void> add_rule(FdRef ruleset, FdRef target, uint64_t rights) {
  landlock_path_beneath_attr rule{};
  rule.allowed_access = rights;
  rule.parent_fd = target.get();
  if (::syscall(SYS_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
    return last_error();
  }
  return {};
}

// Adds a rule for a path given by the operator (policy file, audit file, /dev/fuse). A path that
// cannot be opened only loses that access later (reload or audit fails and says so).
void add_path_rule(FdRef ruleset, const std::string& path, uint64_t rights, int open_flags) {
  Fd target(::open(path.c_str(), O_PATH | O_CLOEXEC | open_flags));
  if (!target.valid()) {
    spdlog::warn("landlock: no rule for {}: {}", path, std::strerror(errno));
    return;
  }
  if (auto ok = add_rule(ruleset, target.ref(), rights); !ok) {
    spdlog::warn("landlock: no rule for {}: {}", path, std::strerror(ok.code()));
  }
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// SIGHUP re-reads the policy by name, and editors replace the file by a rename, so the rule is on
// its directory (read only, regular files only). A symlinked policy gets its target's directory.
void add_policy_rules(FdRef ruleset, const std::string& policy_file) {
  add_path_rule(ruleset, parent_of(policy_file), kFsReadFile, O_DIRECTORY);
  if (char* real = ::realpath(policy_file.c_str(), nullptr)) {
    std::string target(real);
    std::free(real);
    if (parent_of(target) != parent_of(policy_file)) {
      add_path_rule(ruleset, parent_of(target), kFsReadFile, O_DIRECTORY);
    }
  }
}

}  // namespace

int landlock_abi() noexcept {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

namespace {

// A ruleset handling every right this kernel's ABI knows, TCP refused, signals (and, unless
// allowed, abstract sockets) scoped to the domain; rules are added to it, then it is enforced.
struct Ruleset {
  Fd fd;
  int abi = 0;
  uint64_t handled_fs = 0;
};

Result<Ruleset> new_ruleset(bool allow_abstract_unix) {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) return last_error();
  RulesetAttr attr{handled_fs(static_cast<int>(abi)), kNetBindTcp | kNetConnectTcp,
                   kScopeSignal | (allow_abstract_unix ? 0 : kScopeAbstractUnix)};
  Fd fd(static_cast<int>(
      ::syscall(SYS_landlock_create_ruleset, &attr, attr_size(static_cast<int>(abi)), 0)));
  if (!fd.valid()) return last_error();
  return Ruleset{std::move(fd), static_cast<int>(abi), attr.handled_access_fs};
}

// Binds this thread (and the threads it creates later) to the ruleset; the ABI used.
Result<int> enforce(const Ruleset& ruleset) {
  if (::syscall(SYS_landlock_restrict_self, ruleset.fd.get(), 0) != 0) return last_error();
  return ruleset.abi;
}

}  // namespace

Result<int> restrict_to(const LandlockRules& rules) {
  auto ruleset = new_ruleset(rules.allow_abstract_unix);
  if (!ruleset) return ruleset.error();
  const FdRef set = ruleset->fd.ref();
  const uint64_t handled = ruleset->handled_fs;
  if (auto ok = add_rule(set, rules.backing, kBackingRights & handled); !ok) return ok.error();
  add_path_rule(set, "/dev/fuse", (kFsReadFile | kFsWriteFile | kFsIoctlDev) & handled, 0);
  // libfuse sizes its splice pipes from this sysctl; without it large writes lose splice.
  add_path_rule(set, "/proc/sys/fs/pipe-max-size", kFsReadFile, 0);
  if (rules.audit_file) add_path_rule(set, *rules.audit_file, kFsWriteFile, O_NOFOLLOW);
  if (rules.policy_file) add_policy_rules(set, *rules.policy_file);
  static_assert((kBackingRights & kFsExecute) == 0, "the daemon never executes backing files");
  return enforce(ruleset.value());
}

Result<int> restrict_to_backing_files(FdRef backing) {
  auto ruleset = new_ruleset(false);
  if (!ruleset) return ruleset.error();
  uint64_t rights = (kBackingRights | kFsExecute) & ruleset->handled_fs;
  if (auto ok = add_rule(ruleset->fd.ref(), backing, rights); !ok) return ok.error();
  return enforce(ruleset.value());
}

}  // namespace confinefs::cmd
