// Namespace changes: unlink, rename, and the refused link().
// Threat (threats 1, 10, 15): names are removed or moved with *at() calls between held
// parent fds; the kernel never follows a link at either end of a rename. Names the mount does not
// show (host symlinks, special files, mounts) cannot be removed, replaced or renamed onto.
#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <span>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/gate.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
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
Result<void> admit_move(Filesystem& fs, const struct stat& host, const guards::Place& from,
                        const Node& to_dir) {
  std::vector<NodeRef> moving = fs.nodes().find_all(InodeKey{host.st_dev, host.st_ino});
  moving.push_back(fs.nodes().at(from.dir->id(), from.name.view()));
  for (const NodeRef& node : moving) {
    if (!node) continue;
    if (auto ok = fs.nodes().admit_move(node->id(), to_dir.id()); !ok) return ok;
  }
  return {};
}

bool same_inode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// One rename as rename() decided it: its two ends as gated (with the directories' verified
// paths) and what was seen at `from`.
struct Move {
  const guards::Place& from;
  const guards::Place& to;
  unsigned flags;
  const struct stat& seen;
  Attempt& attempt;  // this rename's record (ops/replay.h): it names the parking name too
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
  FdRef from_dir = m.from.dir->handle(), to_dir = m.to.dir->handle();
  // Named in the record before the entry goes there: a successor puts it back (ops/replay.h).
  m.attempt.parking = parking;
  begin_change(r, m.attempt);
  if (auto ok = host.rename(from_dir, m.from.name, to_dir, tmp.value(), RENAME_NOREPLACE); !ok) {
    return ok.code() == EEXIST ? Error{EAGAIN} : ok;
  }
  auto parked = host.stat_child(to_dir, tmp.value());
  if (parked && same_inode(parked.value(), m.seen) && !S_ISDIR(parked->st_mode)) {
    auto done = host.rename(to_dir, tmp.value(), to_dir, m.to.name, m.flags & RENAME_NOREPLACE);
    if (!done) {  // e.g. RENAME_NOREPLACE onto a taken name: the first step is undone
      (void)host.rename(to_dir, tmp.value(), from_dir, m.from.name, RENAME_NOREPLACE);
    }
    return done;
  }
  // Not what was decided on: back to its name (if that is taken meanwhile, it stays parked,
  // invisible), and the answer a directory would have had.
  (void)host.rename(to_dir, tmp.value(), from_dir, m.from.name, RENAME_NOREPLACE);
  guards::MoveShape as_dir{true, false};
  auto verdict = guards::gate_move(r, m.from, m.to, as_dir);
  if (!verdict) return verdict.error();
  return Error{EAGAIN};
}

// A rename the predecessor made before it died (ops/replay.h): the node table and the mount's
// record learn where the entries are now, as after a rename made here.
Result<void> settle_made_move(const Request& r, const guards::Place& from, const guards::Place& to,
                              unsigned flags) {
  Filesystem& fs = r.fs;
  const guards::Place* moved_to[] = {&to, &from};  // an exchange moved both
  for (const guards::Place* at : std::span(moved_to, (flags & RENAME_EXCHANGE) ? 2 : 1)) {
    auto st = fs.resolver().stat_child(at->dir->handle(), at->name);
    if (!st) continue;  // gone since: nothing of it to record
    if (S_ISREG(st->st_mode) && (st->st_mode & objects::kObjectBit)) mark_holder(fs, *at->dir);
    record_move(fs, st.value(), *at->dir, at->name);
  }
  return {};
}

// The name `to`'s end of a rename: its refusals are audited at the request's second site.
Error at_target(const Error& e) { return at_site(e, 1); }

Result<void> remove_file(const Request& r, const guards::Place& place) {
  Filesystem& fs = r.fs;
  auto fate = removal_fate(r, place);
  if (!fate || fate.value() == Fate::kHappened) return fate ? Result<void>{} : fate.error();
  auto st = fs.resolver().stat_child(place.dir->handle(), place.name);
  if (!st) return st.error();
  if (S_ISDIR(st->st_mode)) return Error{EISDIR};
  if (auto ok = same_as_kernel_saw(fs, place, st.value()); !ok) return ok;
  uint64_t xattrs = xattr_bytes_at(fs, *place.dir, place.name, st.value());
  begin_removal(r, st.value());
  auto removed = fs.resolver().remove(place.dir->handle(), place.name, false);
  if (!removed) return removed;
  account_removal(fs, st.value(), xattrs);
  return removed;
}

Result<void> move_entry(const Request& r, const guards::Place& from, const guards::Place& to,
                        unsigned flags) {
  Filesystem& fs = r.fs;
  const Node& from_dir = *from.dir;
  const Node& to_dir = *to.dir;
  auto fate = rename_fate(r, from, to, flags);
  if (!fate) return fate.error();
  if (fate.value() == Fate::kHappened) return settle_made_move(r, from, to, flags);
  auto source = fs.resolver().stat_child(from_dir.handle(), from.name);
  if (!source) return source.error();
  auto target = target_state(fs, to_dir, to.name);
  if (!target) return at_target(target.error());
  if (auto ok = same_as_kernel_saw(fs, from, source.value()); !ok) return ok;
  if (target->has_value()) {
    if (auto ok = same_as_kernel_saw(fs, to, target->value()); !ok) return at_target(ok.error());
  }
  guards::MoveShape shape{S_ISDIR(source->st_mode), (flags & RENAME_EXCHANGE) != 0};
  auto verdict = guards::gate_move(r, from, to, shape);
  if (!verdict) return verdict.error();
  // A name replaced by the rename takes its attributes with it.
  uint64_t replaced_xattrs = target->has_value() && !(flags & RENAME_EXCHANGE)
                                 ? xattr_bytes_at(fs, to_dir, to.name, target->value())
                                 : 0;

  if (auto ok = admit_move(fs, source.value(), from, to_dir); !ok) return ok;
  if ((flags & RENAME_EXCHANGE) && target->has_value()) {
    if (auto ok = admit_move(fs, target->value(), to, from_dir); !ok) return at_target(ok.error());
  }

  Attempt attempt = change_of(r);
  attempt.before = {key_of(source.value()),
                    target->has_value() ? std::optional(key_of(target->value())) : std::nullopt};
  begin_change(r, attempt);
  auto moved =
      verdict.value() == guards::MoveCheck::kAllowedIfNotDirectory
          ? move_checked(r, Move{from, to, flags, source.value(), attempt})
          : fs.resolver().rename(from_dir.handle(), from.name, to_dir.handle(), to.name, flags);
  if (!moved) return moved;
  if (S_ISREG(source->st_mode) && (source->st_mode & objects::kObjectBit)) {
    mark_holder(fs, to_dir);
  }
  if ((flags & RENAME_EXCHANGE) && target->has_value() && S_ISREG(target->value().st_mode) &&
      (target->value().st_mode & objects::kObjectBit)) {
    mark_holder(fs, from_dir);
  }
  record_move(fs, source.value(), to_dir, to.name);
  if ((flags & RENAME_EXCHANGE) && target->has_value()) {
    record_move(fs, target->value(), from_dir, from.name);
  } else if (target->has_value() && !same_inode(source.value(), target->value())) {
    account_removal(fs, target->value(), replaced_xattrs);  // the replaced name is gone
  }
  return {};
}

}  // namespace

Outcome<void> unlink(const Request& r, uint64_t parent, const char* name) {
  auto place = enter(r, parent, name, guards::Intent::kModify);
  if (!place) return refused<void>(r, place.error());
  return answer(r, remove_file(r, place.value()));
}

Outcome<void> rename(const Request& r, uint64_t parent, const char* name, uint64_t new_parent,
                     const char* new_name, unsigned flags) {
  if ((flags & ~kKnownRenameFlags) || (flags & RENAME_WHITEOUT)) {
    return refused<void>(r, Error{EINVAL});
  }
  auto from = enter(r, parent, name, guards::Intent::kModify, 0);
  if (!from) return refused<void>(r, from.error());
  auto to = enter(r, new_parent, new_name, guards::Intent::kCreate, 1);
  if (!to) return refused<void>(r, to.error());
  return answer(r, move_entry(r, from.value(), to.value(), flags));
}

Outcome<void> refuse_hardlink(const Request& r, uint64_t parent, const char* name) {
  // Threat 5: a hardlink gives an inode a second name, and every open proves its file has one
  // name only; a second name made through the mount would make the mount's own files unusable.
  auto place = enter(r, parent, name, std::nullopt);
  if (!place) return refused<void>(r, place.error());
  return refused<void>(r, guards::over_limit(r, EPERM, "no-hardlinks"));
}

}  // namespace confinefs::ops
