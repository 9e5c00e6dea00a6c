// Namespace changes: unlink, rename, and the refused link().
// Threat (threats 1, 10, 15): names are removed or moved with *at() calls between held
// parent fds; the kernel never follows a link at either end of a rename. Names the mount does not
// show (host symlinks, special files, mounts) cannot be removed, replaced or renamed onto.
#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include "fusefs/guards/credentials.h"
#include "fusefs/guards/gate.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

constexpr unsigned kKnownRenameFlags = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;

// State of a rename's target name: absent, a visible entry, or refused (never overwritten).
Result<std::optional<struct stat>> target_state(Filesystem& fs, const Node& dir, const Name& name) {
  auto st = fs.resolver().stat_child(dir.handle(), name);
  if (st) return std::optional<struct stat>(st.value());
  if (st.code() == ENOENT && st.error().refusal == Refusal::kNone) {
    return std::optional<struct stat>();
  }
  if (st.error().refusal != Refusal::kNone) return Error{EACCES, st.error().refusal};
  return st.error();
}

void record_move(Filesystem& fs, const struct stat& st, const Node& dir, const Name& name) {
  InodeKey key{st.st_dev, st.st_ino};
  fs.nodes().moved(key, dir.id(), name.view());
  if (st.st_mode & objects::kObjectBit) fs.made_here().moved(key, dir.key(), name.view());
}

// Before a rename: every node that will sit under to_dir afterwards, in the daemon's table or
// in the kernel's cache (the node the kernel last learnt at the name, whatever the host holds
// there now), must keep the links served beneath it inside the mount (node_table.h). EXDEV
// makes mv copy instead, and the copies are checked like new links.
Result<void> admit_move(Filesystem& fs, const struct stat& host, uint64_t from_dir,
                        const Name& from, uint64_t to_dir) {
  std::vector<NodeRef> moving = fs.nodes().find_all(InodeKey{host.st_dev, host.st_ino});
  moving.push_back(fs.nodes().at(from_dir, from.view()));
  for (const NodeRef& node : moving) {
    if (!node) continue;
    if (auto ok = fs.nodes().admit_move(node->id(), to_dir); !ok) return ok;
  }
  return {};
}

bool same_inode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// One rename as rename() decided it: what was seen at `from`.
struct Move {
  const Node& from_dir;
  const Name& from;
  const Node& to_dir;
  const Name& to;
  unsigned flags;
  const struct stat& seen;
  const guards::MoveEnd& from_end;  // as gated: the directories' verified paths
  const guards::MoveEnd& to_end;
};

// A move the policy allows for the file that was seen but not for a directory
// (docs/threat-model.md, row 31): an outside process can exchange the name with a directory between
// the stat and the rename. The entry goes first to a name no mount shows (common.h, kMovingPrefix),
// is checked there, and only then takes its new name; anything else goes back and the move is
// refused as a directory's would be.
Result<void> move_checked(const Request& r, const Move& m) {
  Filesystem& fs = r.fs;
  std::string parking =
      std::string(kMovingPrefix) + std::to_string(::getpid()) + "-" + std::to_string(r.id);
  auto tmp = Name::parse(parking.c_str());
  if (!tmp) return tmp.error();
  const Resolver& host = fs.resolver();
  if (auto ok = host.rename(m.from_dir.handle(), m.from, m.to_dir.handle(), tmp.value(),
                            RENAME_NOREPLACE);
      !ok) {
    return ok.code() == EEXIST ? Error{EAGAIN} : ok;
  }
  auto parked = host.stat_child(m.to_dir.handle(), tmp.value());
  if (parked && same_inode(parked.value(), m.seen) && !S_ISDIR(parked->st_mode)) {
    auto done = host.rename(m.to_dir.handle(), tmp.value(), m.to_dir.handle(), m.to,
                            m.flags & RENAME_NOREPLACE);
    if (!done) {  // e.g. RENAME_NOREPLACE onto a taken name: the first step is undone
      (void)host.rename(m.to_dir.handle(), tmp.value(), m.from_dir.handle(), m.from,
                        RENAME_NOREPLACE);
    }
    return done;
  }
  // Not what was decided on: back to its name (if that is taken meanwhile, it stays parked,
  // invisible), and the answer a directory would have had.
  (void)host.rename(m.to_dir.handle(), tmp.value(), m.from_dir.handle(), m.from, RENAME_NOREPLACE);
  guards::MoveShape as_dir{true, false};
  auto verdict = guards::gate_move(r, m.from_end, m.to_end, as_dir);
  if (!verdict) return verdict.error();
  return Error{EAGAIN};
}

}  // namespace

Result<void> unlink(const Request& r, uint64_t parent, const char* name) {
  Filesystem& fs = r.fs;
  auto dir = dir_of(r, parent);
  if (!dir) return dir.error();
  auto n = client_name(r, parent, name);
  if (!n) return n.error();
  if (auto ok = guards::gate(r, parent, &n.value(), guards::Intent::kModify); !ok)
    return ok.error();
  auto st = fs.resolver().stat_child(dir.value()->handle(), n.value());
  if (!st) return fs.refuse(r, parent, n->view(), st.error());
  if (S_ISDIR(st->st_mode)) return Error{EISDIR};
  if (auto ok = same_as_kernel_saw(fs, parent, n.value(), st.value()); !ok) {
    return fs.refuse(r, parent, n->view(), ok.error());
  }
  uint64_t xattrs = xattr_bytes_at(fs, *dir.value(), n.value(), st.value());
  auto removed = fs.resolver().remove(dir.value()->handle(), n.value(), false);
  if (!removed) return removed;
  account_removal(fs, st.value(), xattrs);
  return removed;
}

Result<void> rename(const Request& r, uint64_t parent, const char* name, uint64_t new_parent,
                    const char* new_name, unsigned flags) {
  Filesystem& fs = r.fs;
  if ((flags & ~kKnownRenameFlags) || (flags & RENAME_WHITEOUT)) return Error{EINVAL};
  auto from_dir = dir_of(r, parent);
  if (!from_dir) return from_dir.error();
  auto to_dir = dir_of(r, new_parent);
  if (!to_dir) return to_dir.error();
  auto from = client_name(r, parent, name);
  if (!from) return from.error();
  auto to = client_name(r, new_parent, new_name);
  if (!to) return to.error();
  auto from_end = guards::gate_end(r, parent, from.value(), guards::Intent::kModify);
  if (!from_end) return from_end.error();
  auto to_end = guards::gate_end(r, new_parent, to.value(), guards::Intent::kCreate);
  if (!to_end) return to_end.error();

  auto source = fs.resolver().stat_child(from_dir.value()->handle(), from.value());
  if (!source) return fs.refuse(r, parent, from->view(), source.error());
  auto target = target_state(fs, *to_dir.value(), to.value());
  if (!target) return fs.refuse(r, new_parent, to->view(), target.error());
  if (auto ok = same_as_kernel_saw(fs, parent, from.value(), source.value()); !ok) {
    return fs.refuse(r, parent, from->view(), ok.error());
  }
  if (target->has_value()) {
    if (auto ok = same_as_kernel_saw(fs, new_parent, to.value(), target->value()); !ok) {
      return fs.refuse(r, new_parent, to->view(), ok.error());
    }
  }
  guards::MoveShape shape{S_ISDIR(source->st_mode), (flags & RENAME_EXCHANGE) != 0};
  auto verdict = guards::gate_move(r, from_end.value(), to_end.value(), shape);
  if (!verdict) return verdict.error();
  // A name replaced by the rename takes its attributes with it.
  uint64_t replaced_xattrs = target->has_value() && !(flags & RENAME_EXCHANGE)
                                 ? xattr_bytes_at(fs, *to_dir.value(), to.value(), target->value())
                                 : 0;

  if (auto ok = admit_move(fs, source.value(), parent, from.value(), new_parent); !ok) {
    return fs.refuse(r, parent, from->view(), ok.error());
  }
  if ((flags & RENAME_EXCHANGE) && target->has_value()) {
    if (auto ok = admit_move(fs, target->value(), new_parent, to.value(), parent); !ok) {
      return fs.refuse(r, new_parent, to->view(), ok.error());
    }
  }

  auto moved =
      verdict.value() == guards::MoveCheck::kAllowedIfNotDirectory
          ? move_checked(r, Move{*from_dir.value(), from.value(), *to_dir.value(), to.value(),
                                 flags, source.value(), from_end.value(), to_end.value()})
          : fs.resolver().rename(from_dir.value()->handle(), from.value(), to_dir.value()->handle(),
                                 to.value(), flags);
  if (!moved) return moved;
  if (S_ISREG(source->st_mode) && (source->st_mode & objects::kObjectBit)) {
    mark_holder(fs, *to_dir.value());
  }
  if ((flags & RENAME_EXCHANGE) && target->has_value() && S_ISREG(target->value().st_mode) &&
      (target->value().st_mode & objects::kObjectBit)) {
    mark_holder(fs, *from_dir.value());
  }
  record_move(fs, source.value(), *to_dir.value(), to.value());
  if ((flags & RENAME_EXCHANGE) && target->has_value()) {
    record_move(fs, target->value(), *from_dir.value(), from.value());
  } else if (target->has_value() && !same_inode(source.value(), target->value())) {
    account_removal(fs, target->value(), replaced_xattrs);  // the replaced name is gone
  }
  return {};
}

Result<void> refuse_hardlink(const Request& r, uint64_t parent, const char* name) {
  // Threat 5: a hardlink gives an inode a second name, and every open proves its file has one
  // name only; a second name made through the mount would make the mount's own files unusable.
  auto n = client_name(r, parent, name);
  if (!n) return n.error();
  return guards::deny_by_limit(r, parent, n->view(), EPERM, "no-hardlinks");
}

}  // namespace confinefs::ops
