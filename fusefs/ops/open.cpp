// open, create, release: the verified open path (threats 1, 5, 6, 9, 22).
// Create is O_CREAT|O_EXCL|O_NOFOLLOW; create-or-open alternates an exclusive create with a
// no-follow lookup, so a symlink or hardlink raced in at the name is refused, never followed, and
// an existing file is opened only by the kernel's OPEN after its own permission check.
// O_TRUNC is applied with ftruncate only after the fd has been verified.
#include <fcntl.h>

#include "fusefs/guards/credentials.h"
#include "fusefs/guards/gate.h"
#include "fusefs/guards/growth.h"
#include "fusefs/guards/verify.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

// A bounded number of rounds: an outside process flipping the name forever gets EAGAIN, not a
// spinning daemon thread.
constexpr int kCreateOrOpenRounds = 32;

// Host open flags: the access mode and status flags with meaning on the host. O_DIRECT is dropped
// on purpose: the kernel already bypasses its FUSE page cache for such opens, and the daemon's
// buffers are not aligned for O_DIRECT on the backing filesystem.
int host_flags(int client_flags) {
  return client_flags & (O_ACCMODE | O_APPEND | O_SYNC | O_DSYNC);
}

bool writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }

// Whether the kernel may do an open's reads and writes without the daemon (FUSE passthrough,
// fuse/passthrough.h): not while byte limits are in force (quota_bytes, max_file_size), whose
// writes must be counted. Not even a read-only open then: the kernel requires every open of a
// file to pass through once one does, and a write open may come next.
bool limits_allow_passthrough(const policy::Policy& pol) {
  return !pol.limits().quota_bytes && !pol.limits().max_file_size;
}

std::unique_ptr<OpenFile> new_open_file(const Request& r, Fd fd, NodeRef node, int flags,
                                        bool unchanged = false) {
  node->opened();  // counted for the quota of a file removed while open (release() below)
  bool append = (host_flags(flags) & O_APPEND) != 0;
  bool direct = (flags & O_DIRECT) != 0;
  bool stale = node->take_pages_stale();
  return std::unique_ptr<OpenFile>(
      new OpenFile{.fd = std::move(fd),
                   .node = std::move(node),
                   .unchanged_since_last_open = unchanged && !stale,
                   .pages_stale = stale,
                   .append = append,
                   .direct = direct,
                   .flags = flags,
                   .may_pass_through = limits_allow_passthrough(*r.policy)});
}

Result<std::unique_ptr<OpenFile>> open_file(const Request& r, NodeRef node, int flags) {
  // The kernel follows links and opens FIFOs and sockets itself; an OPEN for one is a bug or a
  // forgery, and its host file is not what the client would get.
  if (node->is_dir()) return Error{EISDIR};
  if (node->type() != NodeType::kRegular) return Error{ELOOP};
  struct stat attr {};
  auto fd = guards::open_verified(r, *node, host_flags(flags),
                                  writes(flags) ? guards::Purpose::kWrite : guards::Purpose::kRead,
                                  &attr);
  if (!fd) return fd.error();
  if (flags & O_TRUNC) {
    // Linux truncates on O_RDONLY|O_TRUNC too; a read-only fd cannot, so a verified writer does.
    Fd writer;
    FdRef target = fd->ref();
    if ((flags & O_ACCMODE) == O_RDONLY) {
      auto w = guards::open_verified(r, *node, O_WRONLY, guards::Purpose::kWrite);
      if (!w) return w.error();
      writer = std::move(w.value());
      target = writer.ref();
    }
    auto cut = guards::with_growth(r, target, *node, guards::grows_to(0),
                                   [&] { return sys::ftruncate(target, 0); });
    if (!cut) return cut.error();
  }
  bool unchanged = !(flags & O_TRUNC) && node->same_content_as_last_open(attr);
  return new_open_file(r, std::move(fd.value()), std::move(node), flags, unchanged);
}

// The existing-file half of create-or-open. The kernel sends CREATE only for a name it believes
// free (a negative entry), so it checked the caller against the directory and never against the
// file now there, which an outside process or another user put there since (threat 22): opened
// here, it would be opened with the daemon's rights, another user's 0600 file included. ESTALE
// instead makes the kernel look the name up again (LOOKUP_REVAL) and, finding the file, check the
// caller's full credentials against it and send OPEN. ENOENT without a refusal: the name vanished.
Error existing_entry(const Request& r, const guards::Place& place) {
  auto found = r.fs.resolver().lookup(place.dir->handle(), place.name);
  if (!found) {
    if (found.error().refusal == Refusal::kNone) return found.error();
    // Occupied by something the mount never shows (a symlink, FIFO, mount...): never followed.
    return Error{EACCES, found.error().refusal};
  }
  if (S_ISDIR(found->attr.st_mode)) return Error{EISDIR};
  return Error{ESTALE};
}

Result<Created> create_new(const Request& r, const guards::Place& place, mode_t mode, int flags) {
  Filesystem& fs = r.fs;
  Result<ResolvedEntry> made = Error{EIO};
  if (auto ok = take_inode(r); !ok) return ok.error();
  begin_change(r, change_of(r));
  {
    guards::CallerCredentials as_caller(fs, r.caller);
    made = fs.resolver().create_exclusive(place.dir->handle(), place.name, host_flags(flags), mode);
  }
  if (!made) {
    fs.usage().give_inode();
    return made.error();
  }
  auto handle = fs.resolver().path_handle(made->handle.ref());
  if (!handle) return handle.error();
  Fd io = std::move(made->handle);
  NodeRef node;
  auto entry = remember(r, place, ResolvedEntry{std::move(handle.value()), made->attr},
                        NodeType::kRegular, &node);
  if (!entry) return entry.error();
  // Made here by an exclusive create: no name outside ever named it (threat 42).
  node->set_sole_name_proven();
  return Created{entry.value(), new_open_file(r, std::move(io), std::move(node), flags)};
}

// The file this request's predecessor made before it died (ops/replay.h): the caller's own new
// file, opened as the create would have opened it (not refused as taken, nor emptied again).
// Unlike a file found at a name the kernel thought free (existing_entry), nobody else's file.
Result<Created> open_made(const Request& r, const guards::Place& place, int flags) {
  auto entry = look_up(r, place, false);
  if (!entry) return entry.error();
  NodeRef node = r.fs.nodes().get(entry->id);
  auto file = node ? open_file(r, std::move(node), flags & ~(O_CREAT | O_EXCL | O_TRUNC))
                   : Result<std::unique_ptr<OpenFile>>(Error{ESTALE});
  if (!file) {
    r.fs.nodes().forget(entry->id, 1);  // the kernel never hears of it
    return file.error();
  }
  return Created{entry.value(), std::move(file.value())};
}

}  // namespace

Result<Created> create_at(const Request& r, const guards::Place& place, mode_t mode, int flags) {
  // No setuid/setgid from the client; the policy's create.umask on top of the client's own.
  mode = (mode & 07777) & ~static_cast<mode_t>(S_ISUID | S_ISGID) & ~r.policy->create().umask;
  auto fate = made_fate(r, place, NodeType::kRegular);
  if (!fate) return fate.error();
  if (fate.value() == Fate::kHappened) return open_made(r, place, flags);
  for (int round = 0; round < kCreateOrOpenRounds; ++round) {
    auto made = create_new(r, place, mode, flags);
    if (made || made.code() != EEXIST) return made;
    if (flags & O_EXCL) return made.error();
    if (auto existing = existing_entry(r, place); existing.code != ENOENT) return existing;
  }
  return Error{EAGAIN};
}

Outcome<std::unique_ptr<OpenFile>> open(const Request& r, uint64_t id, int flags) {
  auto node = enter(r, id, writes(flags) ? guards::Intent::kModify : guards::Intent::kRead);
  if (!node) return refused<std::unique_ptr<OpenFile>>(r, node.error());
  return answer(r, open_file(r, std::move(node.value()), flags));
}

Outcome<Created> create(const Request& r, uint64_t parent, const char* name, mode_t mode,
                        int flags) {
  auto place = enter(r, parent, name, guards::Intent::kCreate);
  if (!place) return refused<Created>(r, place.error());
  return answer(r, create_at(r, place.value(), mode, flags));
}

void release(Filesystem& fs, std::unique_ptr<OpenFile> file) {
  // The last close of a file whose name went while it was open: its bytes leave the quota now,
  // once, at the size they have (threat 26).
  if (file->node->closed()) {
    if (auto st = sys::fstat(file->fd.ref()); st && st->st_nlink == 0) {
      fs.usage().adjust_bytes(-static_cast<int64_t>(st->st_size));
    }
  }
}

}  // namespace confinefs::ops
