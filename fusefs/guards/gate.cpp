#include "fusefs/guards/gate.h"

#include <algorithm>
#include <vector>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/current_name.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::guards {
namespace {

using policy::Access;

// Bounds on the chain walk: deeper than this, or changing under us this often, is refused. Each
// level costs a look at its name on every request under rules (threat 44: a tenant nesting
// thousands of levels made each request below look at all of them), so the bound is well past
// any real tree and far below what a tenant can build.
constexpr size_t kMaxChain = 512;
constexpr int kChainAttempts = 4;

std::string join(std::string path, std::string_view child) {
  if (child.empty()) return path;
  if (path.size() > 1) path += '/';
  path += child;
  return path;
}

int errno_for(Access access, Intent intent) {
  switch (access) {
    case Access::kHidden: return intent == Intent::kCreate ? EACCES : ENOENT;
    case Access::kDeny: return EACCES;
    case Access::kReadOnly:
      return (intent == Intent::kModify || intent == Intent::kCreate) ? EROFS : 0;
    case Access::kReadWrite: return 0;
  }
  return EACCES;
}

bool mutates(Intent intent) { return intent == Intent::kModify || intent == Intent::kCreate; }

using Link = NodeTable::Link;

bool same_chain(const std::vector<Link>& a, const std::vector<Link>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Link& x, const Link& y) {
    return x.node == y.node && x.parent == y.parent && x.name == y.name;
  });
}

// Whether parent/name still leads to the link's node's inode.
bool link_holds(Filesystem& fs, const Link& link) {
  auto name = Name::parse(link.name.c_str());
  if (!name) return false;
  auto st = fs.resolver().stat_child(link.parent->handle(), name.value());
  return st && st->st_dev == link.node->key().dev && st->st_ino == link.node->key().ino;
}

// A file unlinked through the mount (or outside) has no path left; its attributes may still be
// read through fds the client holds. Only its own name may be missing, and only for kSee.
bool unlinked_but_seen(const Link& link, Intent intent) {
  return intent == Intent::kSee && nameless(*link.node);
}

// Whether the node of link is now under another name of the same directory; link then carries
// that name.
bool moved_within(Filesystem& fs, Link& link) {
  auto now = current_name(fs, *link.node);
  if (!now) return false;
  link.name = std::move(now->name);
  return true;
}

std::string path_of(const std::vector<Link>& chain) {
  if (chain.empty()) return "/";
  std::string path;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    path += '/';
    path += it->name;
  }
  return path;
}

// The node's virtual path, with every link re-checked against the backing tree (see gate.h).
// The node's own name may have changed within its directory (an outside exchange or rename): it
// is then decided where it is now (guards/current_name.h), as a fresh lookup of that name would be.
Result<std::string> verified_path(Filesystem& fs, uint64_t id, Intent intent) {
  // Bounded (threat 44): each level costs a look at its name on every request under rules.
  auto chain = fs.nodes().chain(id, kMaxChain);
  if (!chain && chain.code() == ENAMETOOLONG) return chain.error();
  for (int attempt = 0; chain && attempt < kChainAttempts; ++attempt) {
    bool holds = true;
    for (size_t i = 0; i < chain->size() && holds; ++i) {
      Link& link = (*chain)[i];
      holds = link_holds(fs, link) ||
              (i == 0 && (unlinked_but_seen(link, intent) || moved_within(fs, link)));
    }
    if (holds) return path_of(chain.value());
    // A rename through the mount may have moved a link while we checked: look again.
    auto again = fs.nodes().chain(id, kMaxChain);
    if (!again || same_chain(again.value(), chain.value())) break;
    chain = std::move(again);
  }
  return Error{ESTALE};
}

Error deny(const Request& r, const std::string& path, policy::Decision d, int code,
           std::string target = {}) {
  return denied(r, path, policy::access_name(d.access), d.rule, code, std::move(target));
}

Error stale_node(const Request& r, uint64_t node) {
  return stale(r, r.fs.nodes().virtual_path(node));
}

Result<void> check_name_length(const Request& r, const Name* child, Intent intent) {
  auto max = r.policy->limits().max_name_length;
  if (intent != Intent::kCreate || child == nullptr || !max || child->size() <= *max) return {};
  return over_limit(r, ENAMETOOLONG, "max_name_length");
}

}  // namespace

namespace {

// A file's containment past PATH_MAX (threat 39): the kernel cannot name it, and a file has no
// `..` to climb, so the directory it sits in now is checked instead (guards/current_name.h finds
// it there by identity; a file with no name left belongs to no directory outside either).
Result<void> file_inside(Filesystem& fs, const Node& node) {
  auto now = current_name(fs, node);
  if (!now) return now.code() == ENOENT ? Result<void>() : Result<void>(now.error());
  return fs.resolver().check_inside(now->parent->handle());
}

}  // namespace

Result<void> inside(const Request& r, const Node& node) {
  if (r.policy->has_rules()) return {};
  auto ok = r.fs.resolver().check_inside(node.handle());
  // ENOTDIR: a file whose host path is longer than PATH_MAX (the walk up starts at its directory).
  if (!ok && ok.code() == ENOTDIR && !node.is_dir()) ok = file_inside(r.fs, node);
  return ok;
}

namespace {

// The decision for child (or the node itself) in the directory whose verified path is base.
Result<void> decide_at(const Request& r, const std::string& base, const Name* child,
                       Intent intent) {
  const policy::Policy& pol = *r.policy;
  std::string_view name = child ? child->view() : std::string_view();
  if (child != nullptr && mutates(intent)) {
    // Adding or removing a name changes the directory's entries: a read-only directory keeps
    // its names even where a nearer rule makes one of them writable (/inputs/scratch).
    policy::Decision parent = pol.decide(base);
    if (int code = errno_for(parent.access, Intent::kModify); code != 0) {
      return deny(r, join(base, name), parent, code);
    }
  }
  std::string path = join(base, name);
  policy::Decision d = pol.decide(path);
  int code = errno_for(d.access, intent);
  if (code != 0) return deny(r, path, d, code);
  if (mutates(intent)) allowed(r, path, policy::access_name(d.access), d.rule);
  return {};
}

// The decision for node itself (child == nullptr) or for child inside it; hands out the verified
// path it decided on (nullopt without rules).
Result<std::optional<std::string>> gate_at(const Request& r, const Node& node, const Name* child,
                                           Intent intent) {
  const policy::Policy& pol = *r.policy;
  if (auto ok = check_name_length(r, child, intent); !ok) return ok.error();
  std::string_view name = child ? child->view() : std::string_view();
  // Fast path: without rules the answer depends only on the mount-wide mode, not on the path.
  if (!pol.has_rules()) {
    policy::Decision d{pol.mode(), -1};
    int code = errno_for(d.access, intent);
    if (code != 0) return deny(r, join(r.fs.nodes().virtual_path(node.id()), name), d, code);
    if (mutates(intent) && r.fs.audit().log_allowed_mutations()) {
      allowed(r, join(r.fs.nodes().virtual_path(node.id()), name), policy::access_name(d.access),
              d.rule);
    }
    return std::optional<std::string>();
  }
  auto base = verified_path(r.fs, node.id(), child ? Intent::kRead : intent);
  if (!base && base.code() == ENAMETOOLONG) return base.error();
  if (!base) return stale_node(r, node.id());
  if (auto ok = decide_at(r, base.value(), child, intent); !ok) return ok.error();
  return std::optional<std::string>(std::move(base.value()));
}

}  // namespace

Result<void> gate(const Request& r, const Node& node, Intent intent) {
  auto decided = gate_at(r, node, nullptr, intent);
  if (!decided) return decided.error();
  return {};
}

Result<std::optional<std::string>> gate_name(const Request& r, const Node& dir, const Name& name,
                                             Intent intent) {
  return gate_at(r, dir, &name, intent);
}

Result<void> refuse_before_lookup(const Request& r, const Place& place) {
  const policy::Policy& pol = *r.policy;
  policy::Decision guess{pol.mode(), -1};
  if (pol.has_rules()) {
    guess = pol.decide(join(r.fs.nodes().virtual_path(place.dir->id()), place.name.view()));
  }
  if (errno_for(guess.access, Intent::kSee) == 0) return {};
  auto decided = gate_at(r, *place.dir, &place.name, Intent::kSee);
  if (!decided) return decided.error();
  return {};  // moved to where it is allowed: resolved and decided again like any other
}

Result<void> confirm_lookup(const Request& r, const Place& place, const struct stat* found,
                            bool parent_inside) {
  // Decided after the name was resolved: the entry handed out was found in a directory that then
  // still sat at the path decided on (with rules), or inside BACKING (without).
  auto decided = gate_at(r, *place.dir, &place.name, Intent::kSee);
  if (!decided) return decided.error();
  if (found == nullptr || r.policy->has_rules() || parent_inside) return {};
  return inside(r, *place.dir);
}

Result<MoveCheck> gate_move(const Request& r, const Place& from, const Place& to,
                            const MoveShape& shape) {
  const policy::Policy* pol = r.policy.get();
  if (!pol->has_rules() || !from.dir_path || !to.dir_path) return MoveCheck::kAllowed;
  if (shape.exchange) {
    // The target travels the other way: it leaves `to` and takes the name `from`.
    if (auto ok = check_name_length(r, &from.name, Intent::kCreate); !ok) return ok.error();
    if (auto ok = decide_at(r, *to.dir_path, &to.name, Intent::kModify); !ok) return ok.error();
    if (auto ok = decide_at(r, *from.dir_path, &from.name, Intent::kCreate); !ok) {
      return ok.error();
    }
  }
  std::string a = join(*from.dir_path, from.name.view()), b = join(*to.dir_path, to.name.view());
  auto crossing = [&](const std::string& src, const std::string& dst) -> Result<void> {
    if (pol->rename_keeps_access(src, dst)) return {};
    policy::Decision s = pol->strictest_in_subtree(src), t = pol->strictest_in_subtree(dst);
    policy::Decision worst = s.access >= t.access ? s : t;
    // EXDEV only if no stricter rule can be named: mv then copies, each file checked on its own.
    int code = worst.access == Access::kReadOnly    ? EROFS
               : worst.access == Access::kReadWrite ? EXDEV
                                                    : EACCES;
    return deny(r, src, worst, code, dst);
  };
  if (shape.exchange) {
    if (auto ok = crossing(a, b); !ok) return ok.error();
    if (auto ok = crossing(b, a); !ok) return ok.error();
    return MoveCheck::kAllowed;
  }
  if (shape.source_is_dir) {
    if (auto ok = crossing(a, b); !ok) return ok.error();
    return MoveCheck::kAllowed;
  }
  return pol->rename_keeps_access(a, b) ? MoveCheck::kAllowed : MoveCheck::kAllowedIfNotDirectory;
}

Result<std::string> listing_path(const Request& r, const Node& dir) {
  return verified_path(r.fs, dir.id(), Intent::kRead);
}

bool hidden_from_listing(const policy::Policy& pol, const std::string& dir_path,
                         std::string_view name) {
  return pol.decide(join(dir_path, name)).access == Access::kHidden;
}

}  // namespace confinefs::guards
