// Filesystem: the state one mount's operations share (resolver, node table, policy, counters).
// It is passed to every operation explicitly; there is no global filesystem object.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fusefs/audit/audit_log.h"
#include "fusefs/mount/attempt_log.h"
#include "fusefs/mount/usage.h"
#include "fusefs/nodes/node_table.h"
#include "fusefs/nodes/proven_inodes.h"
#include "fusefs/objects/made_here.h"
#include "fusefs/resolve/mount_watch.h"
#include "fusefs/resolve/resolver.h"
#include "policy/policy.h"

namespace confinefs {
inline namespace mount {

// The client process a request comes from, as the kernel reported it.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  mode_t umask = 022;
};

// What a successful lookup or create returns to the kernel.
struct Entry {
  uint64_t id;
  struct stat attr;
};

struct FilesystemConfig {
  size_t max_nodes = 1u << 20;
  // Switch fsuid/fsgid to the caller while creating, so new files belong to the caller (needs
  // CAP_SETUID/CAP_SETGID: root or -o service_user=; off with -o user=).
  bool caller_credentials = true;
  // What Resolver::folds_names() found at start; rules are refused unless kDistinct (a policy
  // reload adding rules included).
  enum class Names : unsigned char { kDistinct, kFolded, kUnknown } names = Names::kUnknown;
  // Whether a file's first open proves that its name was its only link (guards/verify.cpp,
  // threat 42); off leaves the link-count checks alone (-o hardlink_proof=off).
  bool prove_sole_names = true;
  // What Resolver::ctime_changes_after_read() found at start: the proof needs every change made
  // after a read of the ctime to give a new ctime (kCoarse: it is made, but is not a proof).
  enum class Ctime : unsigned char { kPerChange, kCoarse, kUnknown } ctime = Ctime::kUnknown;
};

struct Counters {
  std::atomic<uint64_t> operations{0};
  std::atomic<uint64_t> refusals{0};  // escape-like refusals (symlink, hardlink, special, mount...)
  std::atomic<uint64_t> denials{0};   // policy denials
  std::atomic<uint64_t> reloads{0};   // SIGHUP reloads applied
  std::atomic<uint64_t> reloads_refused{0};  // SIGHUP reloads refused (the policy in force stays)
  std::atomic<uint64_t> resent{0};  // requests a dead predecessor had taken, resent to this daemon
};

class Filesystem {
 public:
  Filesystem(Resolver resolver, FilesystemConfig config,
             std::shared_ptr<const policy::Policy> policy);

  const Resolver& resolver() const noexcept { return resolver_; }
  Resolver& resolver() noexcept { return resolver_; }
  NodeTable& nodes() noexcept { return nodes_; }
  const FilesystemConfig& config() const noexcept { return config_; }
  Counters& counters() noexcept { return counters_; }

  std::shared_ptr<const policy::Policy> policy() const { return std::atomic_load(&policy_); }
  // Puts p in force for the next operation. Its audit sink is opened first: when that fails the
  // old policy stays and the error is returned. A quota starts (or restarts) usage accounting
  // with a scan of the backing tree; a policy without one stops it.
  Result<void> set_policy(std::shared_ptr<const policy::Policy> p);

  audit::AuditLog& audit() noexcept { return audit_; }

  // Whether plain listings must stat each entry to leave mount points out; always true unless a
  // MountWatch was installed (set once, before serving).
  void watch_mounts(MountWatch watch) { mount_watch_.emplace(std::move(watch)); }
  bool mounts_possible() { return !mount_watch_ || mount_watch_->mounts_possible(); }
  Usage& usage() noexcept { return usage_; }
  // The FIFOs and sockets this mount made (objects/made_here.h).
  objects::MadeHere& made_here() noexcept { return made_here_; }
  ProvenInodes& proven_inodes() noexcept { return proven_inodes_; }
  // resume=on: the changes begun for requests not answered yet, kept for a successor
  // (mount/attempt_log.h); set once, before serving. nullptr when nothing is kept.
  void keep_attempts(AttemptLog log) { attempts_.emplace(std::move(log)); }
  AttemptLog* attempts() noexcept { return attempts_ ? &*attempts_ : nullptr; }

 private:
  Resolver resolver_;
  NodeTable nodes_;
  FilesystemConfig config_;
  std::shared_ptr<const policy::Policy> policy_;
  Counters counters_;
  audit::AuditLog audit_;
  Usage usage_;
  objects::MadeHere made_here_;
  ProvenInodes proven_inodes_;
  std::optional<MountWatch> mount_watch_;
  std::optional<AttemptLog> attempts_;
};

}  // namespace mount
}  // namespace confinefs
