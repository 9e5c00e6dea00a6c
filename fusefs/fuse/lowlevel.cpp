#include "fusefs/fuse/lowlevel.h"

#include <dirent.h>
#include <fcntl.h>

#include <vector>

#include "fusefs/fuse/current_request.h"
#include "fusefs/fuse/reply.h"

namespace confinefs::fuse {
namespace {

MountState& state(fuse_req_t req) { return *static_cast<MountState*>(fuse_req_userdata(req)); }
const CacheTimeouts& timeouts(fuse_req_t req) { return state(req).timeouts; }

// The one place a FUSE request's facts are read: everything below gets them from the Request.
// Counted once per FUSE request (a READDIRPLUS is one operation, however many entries it has).
Request request(fuse_req_t req, Op op) {
  Filesystem& fs = *state(req).fs;
  uint64_t id = fs.counters().operations.fetch_add(1, std::memory_order_relaxed) + 1;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Request r{fs, Caller{ctx->uid, ctx->gid, ctx->pid, ctx->umask}, op, id};
  if (AttemptLog* attempts = fs.attempts(); attempts != nullptr) {
    r.unique = current_request.unique;
    if (current_request.resent) r.past = attempts->claim(r.unique, static_cast<uint32_t>(op));
  }
  return r;
}

// The open file or directory behind fi->fh; nullptr (the request is answered EBADF) when the
// mount holds no such handle of that kind (handles.h). A handle a predecessor daemon gave the
// kernel (below this daemon's first number: fuse/connection_record.h) is opened again on node
// ino, through every check of an OPEN or OPENDIR and with the open's own flags (carried in its
// number: handles.h), under the same number; a file the kernel reads and writes itself
// (passthrough) comes here only for what the kernel still asks the daemon (SETATTR, FALLOCATE...).
ops::OpenFile* file_of(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi) {
  if (fi == nullptr) return nullptr;
  Handles& handles = state(req).handles;
  if (ops::OpenFile* file = handles.files.find(fi->fh)) return file;
  if (!handles.predecessors(fi->fh)) return nullptr;
  int flags = HandleNumber::tagged(fi->fh) ? HandleNumber::flags_of(fi->fh) : fi->flags;
  auto opened = ops::open(request(req, Op::kOpen), ino, flags & ~(O_CREAT | O_EXCL | O_TRUNC));
  return opened ? handles.files.adopt(fi->fh, std::move(opened.value())) : nullptr;
}
ops::OpenDir* dir_of(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi) {
  if (fi == nullptr) return nullptr;
  Handles& handles = state(req).handles;
  if (ops::OpenDir* dir = handles.dirs.find(fi->fh)) return dir;
  if (!handles.predecessors(fi->fh)) return nullptr;
  auto opened = ops::opendir(request(req, Op::kOpendir), ino);
  return opened ? handles.dirs.adopt(fi->fh, std::move(opened.value())) : nullptr;
}

void enable(fuse_conn_info* conn, unsigned cap) {
  if (conn->capable & cap) conn->want |= cap;
}

void on_init(void* userdata, fuse_conn_info* conn) {
  enable(conn, FUSE_CAP_ATOMIC_O_TRUNC);   // O_TRUNC arrives with open, applied after checks
  enable(conn, FUSE_CAP_HANDLE_KILLPRIV);  // setuid/setgid bits are never stored anyway
  enable(conn, FUSE_CAP_PARALLEL_DIROPS);
  enable(conn, FUSE_CAP_READDIRPLUS);
  enable(conn, FUSE_CAP_READDIRPLUS_AUTO);
  auto* st = static_cast<MountState*>(userdata);
  // A planned hand-over counts each request it reads (request_drain.h): read, not spliced.
  if (st->drain == nullptr) enable(conn, FUSE_CAP_SPLICE_READ);
  if (st->drain != nullptr) conn->want &= ~FUSE_CAP_SPLICE_READ;
  enable(conn, FUSE_CAP_SPLICE_WRITE);
  enable(conn, FUSE_CAP_SPLICE_MOVE);
  // POSIX ACLs on BACKING (threat 33): the kernel checks them itself, with the ACLs the daemon
  // reads from the host (ops/xattr.cpp), so access is never wider than on the host.
  enable(conn, FUSE_CAP_POSIX_ACL);
  // A link body is checked each time it is served (ops/objects.cpp): the kernel must ask again.
  conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
  if (st->timeouts.writeback) {
    enable(conn, FUSE_CAP_WRITEBACK_CACHE);
  } else {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  }
  if (st->on_ready) st->on_ready();
}

void on_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_entry(req, ops::lookup(request(req, Op::kLookup), parent, name), timeouts(req));
}

void on_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  ops::forget(request(req, Op::kForget), ino, nlookup);
  reply_none(req);
}

void on_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Request r = request(req, Op::kForget);
  for (size_t i = 0; i < count; ++i) ops::forget(r, forgets[i].ino, forgets[i].nlookup);
  reply_none(req);
}

void on_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  reply_attr(req, ops::getattr(request(req, Op::kGetattr), ino), timeouts(req));
}

ops::AttrChange decode(const struct stat* attr, int to_set) {
  ops::AttrChange c;
  if (to_set & FUSE_SET_ATTR_MODE) c.mode = attr->st_mode;
  if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) c.size = attr->st_size;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    c.atime = timespec{0, UTIME_NOW};
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    c.atime = attr->st_atim;
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    c.mtime = timespec{0, UTIME_NOW};
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    c.mtime = attr->st_mtim;
  }
  return c;
}

void on_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  reply_attr(
      req,
      ops::setattr(request(req, Op::kSetattr), ino, decode(attr, to_set), file_of(req, ino, fi)),
      timeouts(req));
}

void on_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  reply_entry(req, ops::mknod(request(req, Op::kMknod), parent, name, mode), timeouts(req));
}

void on_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  reply_entry(req, ops::mkdir(request(req, Op::kMkdir), parent, name, mode), timeouts(req));
}

void on_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, ops::unlink(request(req, Op::kUnlink), parent, name));
}

void on_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, ops::rmdir(request(req, Op::kRmdir), parent, name));
}

void on_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  reply_entry(req, ops::symlink(request(req, Op::kSymlink), parent, name, target), timeouts(req));
}

void on_readlink(fuse_req_t req, fuse_ino_t ino) {
  reply_readlink(req, ops::readlink(request(req, Op::kReadlink), ino));
}

void on_link(fuse_req_t req, fuse_ino_t, fuse_ino_t parent, const char* name) {
  reply_status(req, ops::refuse_hardlink(request(req, Op::kLink), parent, name));
}

void on_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  reply_status(req,
               ops::rename(request(req, Op::kRename), parent, name, new_parent, new_name, flags));
}

// With the writeback cache the kernel owns the file position and fills partial pages itself:
// it appends at its own idea of the end (a host O_APPEND would move every write to the end and
// scramble the file) and reads pages of files the client opened write-only. Neither widens what
// the client can reach: the open is gated as a write either way, and the client's own fd keeps
// its access mode.
int host_open_flags(fuse_req_t req, int flags) {
  if (!timeouts(req).writeback) return flags;
  if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
  return flags & ~O_APPEND;
}

void on_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  reply_open(req, ops::open(request(req, Op::kOpen), ino, host_open_flags(req, fi->flags)), fi);
}

void on_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  reply_create(
      req,
      ops::create(request(req, Op::kCreate), parent, name, mode, host_open_flags(req, fi->flags)),
      fi);
}

void on_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ops::OpenFile* file = file_of(req, ino, fi);
  if (file == nullptr) return reply_error(req, EBADF);
  reply_read_fd(req, *file, size, off);
}

void on_write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  ops::OpenFile* file = file_of(req, ino, fi);
  if (file == nullptr) return reply_error(req, EBADF);
  size_t size = fuse_buf_size(in);
  // resume=on: an append is recorded and, resent after a crash, made once (ops/replay.h); its
  // bytes are in memory then (requests are read, never spliced).
  if (file->append && state(req).fs->attempts() != nullptr && in->count == 1 &&
      !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
    return reply_written(req,
                         ops::write(request(req, Op::kWrite), *file, in->buf[0].mem, size, off));
  }
  ssize_t n;
  {
    // Growth limits; the quota is settled at the end of this block, before the reply lets the
    // client close the file (and its fd number be reused).
    auto growth = ops::admit_write(request(req, Op::kWrite), *file, off, size);
    if (!growth) {
      reply_error(req, growth.code());
      return;
    }
    fuse_bufvec out = FUSE_BUFVEC_INIT(size);
    out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = file->fd.get();
    out.buf[0].pos = off;
    n = fuse_buf_copy(&out, in, static_cast<fuse_buf_copy_flags>(0));
  }
  if (n >= 0) ops::wrote(*file);
  if (n < 0) {
    reply_error(req, static_cast<int>(-n));
  } else {
    reply_written(req, static_cast<size_t>(n));
  }
}

void on_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { reply_error(req, 0); }

void on_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  MountState& st = state(req);
  // A predecessor's open is counted in the passthrough rule from the node journal.
  bool predecessors = st.handles.predecessors(fi->fh);
  if (predecessors) {
    st.passthrough.release_predecessors(ino, current_request.unique);
  } else {
    st.passthrough.release(fi->fh, current_request.unique);
  }
  auto file = st.handles.files.take(fi->fh);
  if (file) ops::release(*st.fs, std::move(file));
  reply_error(req, file || predecessors ? 0 : EBADF);
}

void on_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  ops::OpenFile* file = file_of(req, ino, fi);
  reply_status(req, file ? ops::fsync(*file, datasync != 0) : Result<void>(Error{EBADF}));
}

void on_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  reply_opendir(req, ops::opendir(request(req, Op::kOpendir), ino), fi);
}

// Adds one entry to a readdirplus reply. Returns its size, or 0 when it did not fit (the entry
// stays unconsumed and comes first in the next call).
size_t add_plus(fuse_req_t req, const Request& r, fuse_ino_t dir, char* buf, size_t room,
                const sys::DirEntry& e, std::vector<uint64_t>& remembered) {
  fuse_entry_param p{};
  size_t need = fuse_add_direntry_plus(req, nullptr, 0, e.name, &p, e.next);
  if (need > room) return 0;
  bool dots = e.name[0] == '.' && (e.name[1] == '\0' || (e.name[1] == '.' && e.name[2] == '\0'));
  if (dots) {
    p.attr.st_ino = e.ino;
    p.attr.st_mode = static_cast<mode_t>(e.type) << 12;
  } else {
    auto entry = ops::lookup_listed(r, dir, e.name);
    if (entry) {
      remembered.push_back(entry->id);
      p.ino = entry->id;
      p.attr = entry->attr;
      p.attr_timeout = timeouts(req).attr;
      p.entry_timeout = timeouts(req).entry;
    } else if (entry.code() == EACCES) {
      // Denied by policy: the name is listed, nothing about it is (ino 0: no kernel entry).
      p.attr.st_ino = e.ino;
      p.attr.st_mode = static_cast<mode_t>(e.type) << 12;
    } else {
      return SIZE_MAX;  // vanished, or refused as it should be: skip it
    }
  }
  return fuse_add_direntry_plus(req, buf, room, e.name, &p, e.next);
}

size_t add_plain(fuse_req_t req, char* buf, size_t room, const sys::DirEntry& e) {
  struct stat st {};
  st.st_ino = e.ino;
  st.st_mode = static_cast<mode_t>(e.type) << 12;
  size_t need = fuse_add_direntry(req, buf, room, e.name, &st, e.next);
  return need > room ? 0 : need;
}

// Fills buf with entries from the directory's stream; returns the bytes used or the error.
Result<size_t> fill_readdir(fuse_req_t req, fuse_ino_t ino, ops::OpenDir& dir, char* buf,
                            size_t size, off_t off, bool plus) {
  // readdirplus looks up every entry anyway; a plain listing stats each name to leave mount
  // points out only while one can be there.
  const bool check_visible = !plus && state(req).fs->mounts_possible();
  Request r = request(req, plus ? Op::kReaddirplus : Op::kReaddir);
  std::lock_guard lock(dir.mutex);
  if (off != dir.stream.position()) {
    if (auto ok = dir.stream.seek(off); !ok) return ok.error();
  }
  auto scope = ops::listing_scope(r, dir, check_visible, !plus);
  if (!scope) return scope.error();
  size_t used = 0;
  std::vector<uint64_t> remembered;  // nodes READDIRPLUS entries hand to the kernel
  for (;;) {
    auto e = ops::peek_entry(r, dir, scope.value());
    if (!e) {
      if (used == 0) return e.error();
      break;
    }
    if (!e->has_value()) break;
    size_t n = plus ? add_plus(req, r, ino, buf + used, size - used, **e, remembered)
                    : add_plain(req, buf + used, size - used, **e);
    if (n == 0) break;  // did not fit (checked before any lookup): first in the next call
    if (n != SIZE_MAX) used += n;
    dir.stream.consume();
  }
  if (auto ok = ops::listing_done(r, dir); !ok) {
    for (uint64_t id : remembered) ops::forget(r, id, 1);  // the kernel never gets them
    return ok.error();
  }
  return used;
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                bool plus) {
  thread_local std::vector<char> buf;
  buf.resize(size);
  // The reply goes out only after the directory's lock is released: once the kernel has the
  // reply it may close the directory, and RELEASEDIR on another thread frees the OpenDir.
  ops::OpenDir* dir = dir_of(req, ino, fi);
  if (dir == nullptr) return reply_error(req, EBADF);
  auto used = fill_readdir(req, ino, *dir, buf.data(), size, off, plus);
  if (!used) return reply_error(req, used.code());
  reply_buffer(req, buf.data(), used.value());
}

void on_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, false);
}

void on_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  do_readdir(req, ino, size, off, fi, true);
}

void on_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Handles& handles = state(req).handles;
  reply_error(req, handles.dirs.take(fi->fh) || handles.predecessors(fi->fh) ? 0 : EBADF);
}

void on_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  ops::OpenDir* dir = dir_of(req, ino, fi);
  reply_status(req, dir ? ops::fsyncdir(*dir, datasync != 0) : Result<void>(Error{EBADF}));
}

void on_statfs(fuse_req_t req, fuse_ino_t ino) {
  reply_statfs(req, ops::statfs(request(req, Op::kStatfs), ino));
}

void on_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  reply_status(req, ops::setxattr(request(req, Op::kSetxattr), ino, name, value, size, flags));
}

void on_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  thread_local std::vector<char> buf;
  buf.resize(size);
  reply_xattr(
      req, ops::getxattr(request(req, Op::kGetxattr), ino, name, size ? buf.data() : nullptr, size),
      buf.data(), size);
}

void on_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  thread_local std::vector<char> buf;
  buf.resize(size);
  reply_xattr(req, ops::listxattr(request(req, Op::kListxattr), ino, buf.data(), size), buf.data(),
              size);
}

void on_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  reply_status(req, ops::removexattr(request(req, Op::kRemovexattr), ino, name));
}

void on_access(fuse_req_t req, fuse_ino_t ino, int) {
  // default_permissions makes the kernel check modes; this only confirms the node still exists.
  auto node = ops::getattr(request(req, Op::kAccess), ino);
  reply_error(req, node ? 0 : node.code());
}

void on_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  fuse_file_info* fi) {
  ops::OpenFile* file = file_of(req, ino, fi);
  if (file == nullptr) return reply_error(req, EBADF);
  reply_status(req, ops::fallocate(request(req, Op::kFallocate), *file, mode, offset, length));
}

void on_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                        fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                        int flags) {
  if (flags != 0) return reply_error(req, EINVAL);
  ops::OpenFile* in = file_of(req, ino_in, fi_in);
  ops::OpenFile* out = file_of(req, ino_out, fi_out);
  if (in == nullptr || out == nullptr) return reply_error(req, EBADF);
  reply_written(
      req, ops::copy_file_range(request(req, Op::kCopyFileRange), *in, off_in, *out, off_out, len));
}

void on_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
  ops::OpenFile* file = file_of(req, ino, fi);
  if (file == nullptr) return reply_error(req, EBADF);
  reply_lseek(req, ops::lseek(*file, off, whence));
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops o{};
  o.init = on_init;
  o.lookup = on_lookup;
  o.forget = on_forget;
  o.forget_multi = on_forget_multi;
  o.getattr = on_getattr;
  o.setattr = on_setattr;
  o.mknod = on_mknod;
  o.mkdir = on_mkdir;
  o.unlink = on_unlink;
  o.rmdir = on_rmdir;
  o.symlink = on_symlink;
  o.readlink = on_readlink;
  o.link = on_link;
  o.rename = on_rename;
  o.open = on_open;
  o.create = on_create;
  o.read = on_read;
  o.write_buf = on_write_buf;
  o.flush = on_flush;
  o.release = on_release;
  o.fsync = on_fsync;
  o.opendir = on_opendir;
  o.readdir = on_readdir;
  o.readdirplus = on_readdirplus;
  o.releasedir = on_releasedir;
  o.fsyncdir = on_fsyncdir;
  o.statfs = on_statfs;
  o.setxattr = on_setxattr;
  o.getxattr = on_getxattr;
  o.listxattr = on_listxattr;
  o.removexattr = on_removexattr;
  o.access = on_access;
  o.fallocate = on_fallocate;
  o.copy_file_range = on_copy_file_range;
  o.lseek = on_lseek;
  return o;
}

}  // namespace

const fuse_lowlevel_ops& lowlevel_ops() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

}  // namespace confinefs::fuse
