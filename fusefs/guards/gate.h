// Policy gate: the tenant's rules applied to the virtual path this daemon resolved itself,
// component by component. No host path string is consulted, so a symlink or rename raced into
// the backing directory cannot steer a request past a rule.
// Threat (a stale name never grants access): the kernel caches names, and an outside
// process may move a directory the kernel knows (/public -> /secret/x). When the policy has
// rules, a node's virtual path is therefore re-checked before each decision: every (parent,
// name) link from the node up to the root must still lead to the same (dev, ino). A chain that
// no longer holds is answered ESTALE, never decided on the old name: a call by path is then
// looked up again by the kernel (LOOKUP_REVAL) and decided where its names lead now
// (docs/policy.md).
#pragma once

#include <optional>
#include <string>

#include "fusefs/mount/filesystem.h"
#include "fusefs/mount/request.h"
#include "fusefs/resolve/name.h"

namespace confinefs::guards {

enum class Intent : unsigned char {
  kSee,     // lookup, getattr: hidden -> ENOENT, deny -> EACCES
  kRead,    // open for reading, readdir, getxattr
  kModify,  // write-open, setattr, xattr changes, unlink, rename away
  kCreate,  // a new name: create, mkdir, mknod, rename onto
};

// A name operation's subject, as ops/enter.h hands it to the operation: the directory, the
// client's name parsed, and, when the policy has rules and the name was gated, the directory's
// virtual path as verified for this request.
struct Place {
  NodeRef dir;
  Name name;
  std::optional<std::string> dir_path;
};

// ESTALE (audited) unless node is beneath BACKING now: an outside rename may take a directory
// the kernel knows out of BACKING, and names, attributes and listings of what the host later
// puts there must not show (Resolver::check_inside). Landlock keeps the daemon's opens, creates,
// removals and renames out of such a directory, but not the O_PATH opens and statx that lookups,
// getattr and listings of an already open directory make: those call this (confirm_lookup
// does for lookups). With rules it is the chain check's job: a chain that leaves BACKING does
// not hold.
Result<void> inside(const Request& r, const Node& node);

// Decides intent for the node itself.
Result<void> gate(const Request& r, const Node& node, Intent intent);
// Decides intent for name inside dir; hands out dir's verified path when the policy has rules.
Result<std::optional<std::string>> gate_name(const Request& r, const Node& dir, const Name& name,
                                             Intent intent);

// Before a lookup resolves anything: a name whose last known path the policy refuses (hidden,
// deny) is decided at once on its verified path, and never looked at on the host, so whether it
// exists shows neither in the answer nor in how long it takes. Allowed (the common case, no
// host call, no chain walk): the lookup resolves, then decides (confirm_lookup).
Result<void> refuse_before_lookup(const Request& r, const Place& place);

// A lookup's decision, made once the name was resolved (found: what it led to, nullptr when the
// resolution failed): with rules, the directory's chain is walked once, after the resolution, so
// the entry was found in a directory that then still sat at the path decided on (kSee). A denial
// wins over the resolution's own error, so a denied name's existence does not show. Without
// rules, the directory must be inside BACKING after the resolution (inside()), unless
// parent_inside says this request checked that already (a READDIRPLUS, once for all entries).
Result<void> confirm_lookup(const Request& r, const Place& place, const struct stat* found,
                            bool parent_inside = false);

// A rename that passed both ends' gates (Place::dir_path set by gate_name): for a directory (or
// an exchange), also every path that could exist beneath it must keep its access, else the
// stricter rule's errno.
struct MoveShape {
  bool source_is_dir = false;
  bool exchange = false;
};
// kAllowedIfNotDirectory: allowed for the file that was seen, but a directory at that name would
// carry a subtree whose access changes, so the caller must make sure a file is what it moves (an
// outside process can exchange the name with a directory between the stat and the rename).
// An exchange cannot be split, so both of its sides are checked as directories, whatever they
// are now.
enum class MoveCheck : unsigned char { kAllowed, kAllowedIfNotDirectory };
Result<MoveCheck> gate_move(const Request& r, const Place& from, const Place& to,
                            const MoveShape& shape);

// The verified virtual path of dir for filtering a listing; ENOENT when dir's chain no longer
// holds.
Result<std::string> listing_path(const Request& r, const Node& dir);
// True when pol hides dir_path/name from listings.
bool hidden_from_listing(const policy::Policy& pol, const std::string& dir_path,
                         std::string_view name);

}  // namespace confinefs::guards
