// Directories: opendir/readdir/releasedir/fsyncdir, mkdir, rmdir.
// Listings show only what lookup would admit (threats 3, 8, 10): symlinks, special files,
// foreign mounts, unrepresentable names and policy-hidden entries are left out.
#include <dirent.h>
#include <fcntl.h>

#include "fusefs/guards/credentials.h"
#include "fusefs/guards/gate.h"
#include "fusefs/guards/verify.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

bool is_dot_or_dotdot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

// Whether a listed entry is one lookup() would admit; "." and ".." are always listed. In a
// directory marked as holding links, FIFOs or sockets (objects/marker.h), a regular file that
// may be one is listed as DT_UNKNOWN: its type needs a lookup, which the client makes if it
// cares (readdirplus makes it anyway).
bool visible(Filesystem& fs, OpenDir& dir, const ListingScope& scope, sys::DirEntry& e) {
  if (is_dot_or_dotdot(e.name)) return true;
  if (e.type != DT_REG && e.type != DT_DIR && e.type != DT_UNKNOWN) return false;
  auto name = Name::parse(e.name);
  if (!name || is_parking_name(name->view())) return false;
  if (scope.dir_path && guards::hidden_from_listing(*scope.policy, *scope.dir_path, name->view())) {
    return false;
  }
  mode_t mode = 0;
  if (scope.check_visible) {
    // A mount point or bind-mounted file keeps DT_DIR/DT_REG in the listing: only statx shows it.
    auto st = fs.resolver().stat_child(dir.stream.fd(), name.value());
    if (!st) return false;
    mode = st->st_mode;
  } else if (scope.objects_possible && e.type != DT_DIR) {
    auto peeked = fs.resolver().peek_mode(dir.stream.fd(), name.value());
    if (!peeked) return peeked.code() != ENOENT;
    mode = peeked.value();
  }
  if (mode != 0 && !S_ISREG(mode) && !S_ISDIR(mode)) return false;
  if (S_ISREG(mode) && (mode & objects::kObjectBit)) e.type = DT_UNKNOWN;
  return true;
}

Result<std::unique_ptr<OpenDir>> open_directory(const Request& r, NodeRef node) {
  auto fd = guards::open_verified(r, *node, O_RDONLY | O_DIRECTORY, guards::Purpose::kRead);
  if (!fd) return fd.error();
  return std::unique_ptr<OpenDir>(
      new OpenDir{std::move(node), {}, sys::DirStream(std::move(fd.value()))});
}

Result<ListingScope> scope_of(const Request& r, OpenDir& dir, bool check_visible, bool plain) {
  ListingScope scope{r.policy, std::nullopt, check_visible, false};
  // Only a directory where links, FIFOs or sockets were made needs its regular files' modes.
  scope.objects_possible =
      plain && sys::fgetxattr(dir.stream.fd(), objects::kHolderAttr, nullptr, 0).ok();
  if (scope.policy->has_rules()) {
    auto path = guards::listing_path(r, *dir.node);
    if (!path) return path.error();
    scope.dir_path = std::move(path.value());
  } else if (auto ok = guards::inside(r, *dir.node); !ok) {
    return ok.error();  // opened before an outside rename took it out of BACKING
  }
  return scope;
}

Result<std::optional<sys::DirEntry>> next_visible(const Request& r, OpenDir& dir,
                                                  const ListingScope& scope) {
  for (;;) {
    auto e = dir.stream.peek();
    if (!e || !e->has_value()) return e;
    sys::DirEntry entry = e->value();
    if (visible(r.fs, dir, scope, entry)) {
      // Never report the host's parent of the backing root: ".." of the root is the root.
      if (dir.node->id() == NodeTable::kRootId && is_dot_or_dotdot(entry.name)) {
        entry.ino = dir.node->key().ino;
      }
      return std::optional<sys::DirEntry>(entry);
    }
    dir.stream.consume();
  }
}

Result<Entry> make_directory(const Request& r, const guards::Place& place, mode_t mode) {
  Filesystem& fs = r.fs;
  auto fate = made_fate(r, place, NodeType::kDirectory);
  if (!fate) return fate.error();
  if (fate.value() == Fate::kHappened) return look_up(r, place, false);
  if (auto ok = take_inode(r); !ok) return ok.error();
  begin_change(r, change_of(r));
  {
    guards::CallerCredentials as_caller(fs, r.caller);
    // No setuid/setgid from the client; the policy's create.umask on top of the client's own.
    auto made = fs.resolver().make_directory(place.dir->handle(), place.name,
                                             mode & 01777 & ~r.policy->create().umask);
    if (!made) {
      fs.usage().give_inode();
      return made.error();
    }
  }
  // A swap between mkdirat and this lookup is refused like any other planted entry.
  auto found = fs.resolver().lookup(place.dir->handle(), place.name);
  if (!found) return found.error();
  if (!S_ISDIR(found->attr.st_mode)) return Error{EIO, Refusal::kIdentityMismatch};
  return remember(r, place, std::move(found.value()), NodeType::kDirectory);
}

Result<void> remove_directory(const Request& r, const guards::Place& place) {
  Filesystem& fs = r.fs;
  auto fate = removal_fate(r, place);
  if (!fate || fate.value() == Fate::kHappened) return fate ? Result<void>{} : fate.error();
  auto st = fs.resolver().stat_child(place.dir->handle(), place.name);
  if (!st) return st.error();
  if (!S_ISDIR(st->st_mode)) return Error{ENOTDIR};
  if (auto ok = same_as_kernel_saw(fs, place, st.value()); !ok) return ok;
  uint64_t xattrs = xattr_bytes_at(fs, *place.dir, place.name, st.value());
  begin_removal(r, st.value());
  auto removed = fs.resolver().remove(place.dir->handle(), place.name, true);
  if (removed) account_removal(fs, st.value(), xattrs);
  return removed;
}

}  // namespace

Outcome<std::unique_ptr<OpenDir>> opendir(const Request& r, uint64_t id) {
  auto node = enter(r, id, guards::Intent::kRead);
  if (!node) return refused<std::unique_ptr<OpenDir>>(r, node.error());
  if (!node.value()->is_dir()) return refused<std::unique_ptr<OpenDir>>(r, Error{ENOTDIR});
  return answer(r, open_directory(r, std::move(node.value())));
}

Outcome<ListingScope> listing_scope(const Request& r, OpenDir& dir, bool check_visible,
                                    bool plain) {
  enter(r, *dir.node);
  return answer(r, scope_of(r, dir, check_visible, plain));
}

Outcome<void> listing_done(const Request& r, OpenDir& dir) {
  enter(r, *dir.node);
  return answer(r, guards::inside(r, *dir.node));
}

Outcome<std::optional<sys::DirEntry>> peek_entry(const Request& r, OpenDir& dir,
                                                 const ListingScope& scope) {
  return answer(r, next_visible(r, dir, scope));
}

Result<void> fsyncdir(OpenDir& dir, bool data_only) {
  return sys::fsync(dir.stream.fd(), data_only);
}

Outcome<Entry> mkdir(const Request& r, uint64_t parent, const char* name, mode_t mode) {
  auto place = enter(r, parent, name, guards::Intent::kCreate);
  if (!place) return refused<Entry>(r, place.error());
  return answer(r, make_directory(r, place.value(), mode));
}

Outcome<void> rmdir(const Request& r, uint64_t parent, const char* name) {
  auto place = enter(r, parent, name, guards::Intent::kModify);
  if (!place) return refused<void>(r, place.error());
  return answer(r, remove_directory(r, place.value()));
}

}  // namespace confinefs::ops
