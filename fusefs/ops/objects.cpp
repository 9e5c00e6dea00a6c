// Symlinks, FIFOs and sockets made through the mount (objects/marker.h): what a lookup found,
// making them, and serving a link's target.
// Threats: a host symlink, FIFO or socket is never surfaced (resolve/resolver.cpp); what the
// sandbox makes is a regular file on the host, so no host tool follows it or blocks on it, and
// a link is served only while it is contained in the mount (objects/link_target.h,
// nodes/node_table.h), whoever wrote the file.
#include <fcntl.h>
#include <sys/xattr.h>

#include <string>

#include "fusefs/guards/audit.h"
#include "fusefs/guards/credentials.h"
#include "fusefs/guards/gate.h"
#include "fusefs/guards/verify.h"
#include "fusefs/objects/link_target.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

using policy::LinkMode;
using policy::ObjectMode;

bool made_allowed(const policy::Objects& modes, NodeType type) {
  return (type == NodeType::kFifo ? modes.fifos : modes.sockets) == ObjectMode::kMount;
}

// The marker of a single-link regular file, read through an fd reopened from its handle.
std::optional<NodeType> read_marker(Filesystem& fs, FdRef handle) {
  auto fd = fs.resolver().reopen(handle, O_RDONLY);
  if (!fd) return std::nullopt;
  char value[16];
  auto n = sys::fgetxattr(fd->ref(), objects::kMarkerAttr, value, sizeof value);
  if (!n) return std::nullopt;
  return objects::type_of_marker(std::string_view(value, n.value()));
}

// Writes content, the exact host mode and the marker into an unnamed file, then names it.
Result<void> fill_and_name(Filesystem& fs, FdRef file, const Node& dir, const Name& name,
                           NodeType type, mode_t host_mode, std::string_view content) {
  if (auto ok = sys::fchmod(file, host_mode); !ok) return ok;  // the umask may have cut it
  if (!content.empty()) {
    auto written = sys::pwrite(file, content.data(), content.size(), 0);
    if (!written) return written.error();
    if (written.value() != content.size()) return Error{ENOSPC};
  }
  std::string_view marker = objects::marker_of(type);
  if (auto ok = sys::fsetxattr(file, objects::kMarkerAttr, marker.data(), marker.size(), 0); !ok) {
    return ok;
  }
  return fs.resolver().link_unnamed(file, dir.handle(), name);
}

// Stores a new object at dir/name as the caller, complete before it has a name, and returns what
// a lookup of it would have found.
Result<ResolvedEntry> store(const Request& r, const guards::Place& place, NodeType type,
                            mode_t host_mode, std::string_view content) {
  Filesystem& fs = r.fs;
  Fd file;
  {
    guards::CallerCredentials as_caller(fs, r.caller);
    auto made = fs.resolver().make_unnamed(place.dir->handle(), host_mode & 0777);
    if (!made) return made.error();
    file = std::move(made.value());
    if (auto ok = fill_and_name(fs, file.ref(), *place.dir, place.name, type, host_mode, content);
        !ok) {
      return ok.error();
    }
  }
  auto handle = fs.resolver().path_handle(file.ref());
  if (!handle) return handle.error();
  auto attr = fs.resolver().stat_handle(handle->ref());
  if (!attr) return attr.error();
  return ResolvedEntry{std::move(handle.value()), attr.value()};
}

// Whether the FIFO or socket the record names is still there: its directory known to the node
// table and the name leading to the same inode (a directory the kernel forgot cannot be asked:
// the record is kept).
bool still_there(Filesystem& fs, InodeKey object, InodeKey parent, std::string_view name) {
  NodeRef dir = fs.nodes().find(parent, NodeType::kDirectory);
  if (!dir) return true;
  auto n = Name::parse(std::string(name).c_str());
  if (!n) return false;
  auto st = fs.resolver().stat_child(dir->handle(), n.value());
  // Gone only when the name is gone or names another inode: an error of the look itself (EMFILE,
  // EACCES) says nothing.
  if (!st) return st.code() != ENOENT;
  return st->st_dev == object.dev && st->st_ino == object.ino;
}

// A place in the record of FIFOs and sockets for the caller (its own budget: threat 44),
// after dropping its records of files an outside process removed.
Result<void> reserve_record(const Request& r) {
  Filesystem& fs = r.fs;
  auto room = fs.made_here().reserve(r.caller.uid);
  if (!room && room.code() == ENOSPC) {
    fs.made_here().drop_gone(r.caller.uid, [&fs](InodeKey o, InodeKey p, std::string_view n) {
      return still_there(fs, o, p, n);
    });
    room = fs.made_here().reserve(r.caller.uid);
  }
  if (!room) return guards::over_limit(r, room.code(), "objects per user");
  return {};
}

// What the predecessor of a resent symlink() or mknod() made at place: looked up as a lookup
// would, once a FIFO or socket it stored before it could record it is in the mount's record. Only
// a stored object of this type with a single name is taken for it (a plain file someone else put
// there in the instant stays what it is: the request is then served, EEXIST).
Result<Entry> remake_entry(const Request& r, const guards::Place& place, NodeType type,
                           bool client_sticky) {
  Filesystem& fs = r.fs;
  if (type != NodeType::kSymlink) {
    auto found = fs.resolver().lookup(place.dir->handle(), place.name);
    if (!found) return found.error();
    const struct stat& st = found->attr;
    InodeKey key{st.st_dev, st.st_ino};
    if (!fs.made_here().find(key, place.dir->key(), place.name.view())) {
      if (!(st.st_mode & objects::kObjectBit) || st.st_nlink != 1 ||
          read_marker(fs, found->handle.ref()) != type) {
        return Error{EEXIST};
      }
      if (auto ok = reserve_record(r); !ok) return ok.error();
      fs.made_here().add(key, type, place.dir->key(), place.name.view(), client_sticky,
                         r.caller.uid);
    }
  }
  return look_up(r, place, false);
}

// The common part of symlink() and mknod(): inode quota, store, remember.
Result<Entry> make(const Request& r, const guards::Place& place, NodeType type, mode_t host_mode,
                   std::string_view content, bool client_sticky = false) {
  Filesystem& fs = r.fs;
  const bool recorded = type != NodeType::kSymlink;
  auto fate = made_fate(r, place, type);
  if (!fate) return fate.error();
  if (fate.value() == Fate::kHappened) return remake_entry(r, place, type, client_sticky);
  if (recorded) {
    if (auto ok = reserve_record(r); !ok) return ok.error();
  }
  if (auto ok = take_inode(r); !ok) {
    if (recorded) fs.made_here().cancel(r.caller.uid);
    return ok.error();
  }
  begin_change(r, change_of(r));
  auto stored = store(r, place, type, host_mode, content);
  if (!stored) {
    fs.usage().give_inode();
    if (recorded) fs.made_here().cancel(r.caller.uid);
    return stored.error();
  }
  // Content and marker are stored bytes (quota_bytes), given back when the name goes.
  fs.usage().adjust_bytes(static_cast<int64_t>(
      stored->attr.st_size + xattr_cost(objects::kMarkerAttr, objects::marker_of(type).size())));
  mark_holder(fs, *place.dir);
  InodeKey key{stored->attr.st_dev, stored->attr.st_ino};
  if (recorded) {
    fs.made_here().add(key, type, place.dir->key(), place.name.view(), client_sticky, r.caller.uid);
  }
  return remember(r, place, std::move(stored.value()), type);
}

Error refuse_target(const Request& r, const Error& e) {
  if (e.refusal == Refusal::kLinkEscape) {
    return guards::over_limit(r, EPERM,
                              "links: contained (the target is absolute, climbs above the mount "
                              "root, or has '..' after a name)");
  }
  if (e.refusal != Refusal::kNone) return guards::over_limit(r, e.code, "links: target");
  return e;
}

Result<Entry> make_link(const Request& r, const guards::Place& place, const char* target) {
  if (r.policy->objects().links == LinkMode::kRefuse) {
    return guards::over_limit(r, EPERM, "links: refuse");
  }
  auto shape = objects::parse_link_target(target);
  if (!shape) return refuse_target(r, shape.error());
  // Served only while contained, so refused now if it already climbs out from here.
  if (r.fs.nodes().depth(place.dir->id()) < shape->climb) {
    return refuse_target(r, Error{EPERM, Refusal::kLinkEscape});
  }
  return make(r, place, NodeType::kSymlink, objects::kLinkHostMode, target);
}

Result<Entry> make_node(const Request& r, const guards::Place& place, mode_t mode) {
  if ((mode & S_IFMT) == 0 || S_ISREG(mode)) {
    auto made = create_at(r, place, mode & 07777, O_WRONLY | O_EXCL);
    if (!made) return made.error();
    release(r.fs, std::move(made->file));
    return made->entry;
  }
  // Threat 10: devices are never made through the mount.
  if (!S_ISFIFO(mode) && !S_ISSOCK(mode)) return guards::over_limit(r, EPERM, "devices");
  NodeType kind = S_ISFIFO(mode) ? NodeType::kFifo : NodeType::kSocket;
  if (!made_allowed(r.policy->objects(), kind)) {
    return guards::over_limit(r, EPERM,
                              kind == NodeType::kFifo ? "fifos: refuse" : "sockets: refuse");
  }
  mode_t perms = mode & 0777 & ~r.policy->create().umask;
  return make(r, place, kind, objects::kObjectBit | perms, "", (mode & S_ISVTX) != 0);
}

// A link's target, checked each time it is served: the file may have been rewritten outside,
// and the link or a directory above it moved since. The kernel is never told to cache a link body.
Result<std::string> link_target(const Request& r, const Node& node) {
  if (node.type() != NodeType::kSymlink) return Error{EINVAL};
  if (r.policy->objects().links == LinkMode::kRefuse) {
    return guards::over_limit(r, EACCES, "links: refuse");
  }
  auto fd = guards::open_verified(r, node, O_RDONLY, guards::Purpose::kRead);
  if (!fd) return fd.error();
  std::string target(objects::kMaxLinkTarget + 1, '\0');
  auto n = sys::pread(fd->ref(), target.data(), target.size(), 0);
  if (!n) return n.error();
  target.resize(n.value());
  auto shape = objects::parse_link_target(target);
  if (!shape) return Error{EACCES, Refusal::kLinkEscape};
  if (auto ok = r.fs.nodes().serve_link(node.id(), shape->climb); !ok) return ok.error();
  return target;
}

}  // namespace

void mark_holder(Filesystem& fs, const Node& dir) {
  if (dir.marked_holder()) return;
  auto fd = fs.resolver().reopen(dir.handle(), O_RDONLY | O_DIRECTORY);
  // Best effort: an unmarked directory only lists its objects as DT_REG in plain READDIRs.
  if (!fd) return;
  auto set = sys::fsetxattr(fd->ref(), objects::kHolderAttr, "1", 1, XATTR_CREATE);
  // Stored bytes like any attribute's (given back when the directory goes); one there already
  // was counted by the usage scan.
  if (set) fs.usage().adjust_bytes(static_cast<int64_t>(xattr_cost(objects::kHolderAttr, 1)));
  if (set || set.code() == EEXIST) dir.set_marked_holder();
}

Result<NodeType> kind_of(const Request& r, const Node& dir, const Name& name,
                         const ResolvedEntry& found) {
  Filesystem& fs = r.fs;
  const struct stat& attr = found.attr;
  if (S_ISDIR(attr.st_mode)) return NodeType::kDirectory;
  if (!(attr.st_mode & objects::kObjectBit)) return NodeType::kRegular;
  const policy::Objects& modes = r.policy->objects();
  InodeKey key{attr.st_dev, attr.st_ino};
  if (auto made = fs.made_here().find(key, dir.key(), name.view())) {
    if (!made_allowed(modes, *made)) return Error{ENOENT, Refusal::kSpecialFile};
    return *made;
  }
  // Only a file with no other name is read: a second name may be outside BACKING.
  if (attr.st_nlink != 1 || attr.st_size <= 0 ||
      attr.st_size > static_cast<off_t>(objects::kMaxLinkTarget)) {
    return NodeType::kRegular;
  }
  // A FIFO or socket marker this mount did not write is a plain file: never one to block on.
  if (read_marker(fs, found.handle.ref()) != NodeType::kSymlink) return NodeType::kRegular;
  if (modes.links == LinkMode::kRefuse) return Error{ENOENT, Refusal::kSymlink};
  return NodeType::kSymlink;
}

Outcome<Entry> symlink(const Request& r, uint64_t parent, const char* name, const char* target) {
  auto place = enter(r, parent, name, guards::Intent::kCreate);
  if (!place) return refused<Entry>(r, place.error());
  return answer(r, make_link(r, place.value(), target));
}

Outcome<Entry> mknod(const Request& r, uint64_t parent, const char* name, mode_t mode) {
  auto place = enter(r, parent, name, guards::Intent::kCreate);
  if (!place) return refused<Entry>(r, place.error());
  return answer(r, make_node(r, place.value(), mode));
}

Outcome<std::string> readlink(const Request& r, uint64_t id) {
  auto node = enter(r, id, guards::Intent::kRead);
  if (!node) return refused<std::string>(r, node.error());
  return answer(r, link_target(r, *node.value()));
}

}  // namespace confinefs::ops
