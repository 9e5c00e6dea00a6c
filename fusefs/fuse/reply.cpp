#include "fusefs/fuse/reply.h"

#include <fcntl.h>

#include "fusefs/fuse/current_request.h"
#include "fusefs/fuse/libfuse314/reply_patch.h"

namespace confinefs::fuse {
namespace {

MountState& state(fuse_req_t req) { return *static_cast<MountState*>(fuse_req_userdata(req)); }

fuse_entry_param to_param(const Entry& e, const CacheTimeouts& t) {
  fuse_entry_param p{};
  p.ino = e.id;
  p.generation = 0;  // node ids are never reused, so a generation is never needed
  p.attr = e.attr;
  p.attr_timeout = t.attr;
  p.entry_timeout = t.entry;
  return p;
}

void set_open_flags(fuse_file_info* fi, const CacheTimeouts& t, const ops::OpenFile& file,
                    const KernelIo& io) {
  fi->keep_cache = io.backing_id == 0 && !file.pages_stale &&
                   (t.keep_cache || (t.keep_cache_if_unchanged && file.unchanged_since_last_open));
  fi->noflush = 1;  // flush does nothing here: POSIX locks stay in the kernel
}

// Publishes the open handle, decides how the kernel does its I/O (fuse/passthrough.h) and sends
// the reply with send(fi); an open whose reply the kernel never got is taken back at once.
template <typename Send>
void reply_opened(fuse_req_t req, std::unique_ptr<ops::OpenFile> file, fuse_file_info* fi,
                  Send send) {
  MountState& st = state(req);
  uint64_t node = file->node->id();
  bool may = file->may_pass_through;
  FdRef host = file->fd.ref();
  ops::OpenFile& opened = *file;
  fi->fh = st.handles.files.add(file, opened.flags);
  if (fi->fh == 0) {
    ops::release(*st.fs, std::move(file));
    fuse_reply_err(req, ENFILE);
    return;
  }
  auto io = st.passthrough.open(fi->fh, node, host, may, current_request.unique);
  if (!io) {
    ops::release(*st.fs, st.handles.files.take(fi->fh));
    fuse_reply_err(req, io.code());
    return;
  }
  set_open_flags(fi, st.timeouts, opened, io.value());
  PassthroughReply marked(io->backing_id);
  if (send(fi) == -ENOENT) {  // interrupted: the kernel never got it
    st.passthrough.release(fi->fh);
    ops::release(*st.fs, st.handles.files.take(fi->fh));
  }
}

}  // namespace

void reply_error(fuse_req_t req, int code) { fuse_reply_err(req, code); }

void reply_status(fuse_req_t req, const Result<void>& r) { fuse_reply_err(req, r ? 0 : r.code()); }

void reply_none(fuse_req_t req) { fuse_reply_none(req); }

void reply_entry(fuse_req_t req, const Result<Entry>& r, const CacheTimeouts& t) {
  if (r) {
    auto p = to_param(r.value(), t);
    fuse_reply_entry(req, &p);
  } else if (r.code() == ENOENT && t.negative > 0) {
    fuse_entry_param p{};
    p.entry_timeout = t.negative;
    fuse_reply_entry(req, &p);
  } else {
    fuse_reply_err(req, r.code());
  }
}

void reply_attr(fuse_req_t req, const Result<struct stat>& r, const CacheTimeouts& t) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  fuse_reply_attr(req, &r.value(), t.attr);
}

void reply_open(fuse_req_t req, Result<std::unique_ptr<ops::OpenFile>> r, fuse_file_info* fi) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  reply_opened(req, std::move(r.value()), fi,
               [req](fuse_file_info* f) { return fuse_reply_open(req, f); });
}

void reply_create(fuse_req_t req, Result<ops::Created> r, fuse_file_info* fi) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  auto p = to_param(r->entry, state(req).timeouts);
  reply_opened(req, std::move(r->file), fi,
               [req, &p](fuse_file_info* f) { return fuse_reply_create(req, &p, f); });
}

void reply_opendir(fuse_req_t req, Result<std::unique_ptr<ops::OpenDir>> r, fuse_file_info* fi) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  MountState& st = state(req);
  fi->fh = st.handles.dirs.add(r.value());
  if (fi->fh == 0) {
    fuse_reply_err(req, ENFILE);
    return;
  }
  if (fuse_reply_open(req, fi) == -ENOENT) st.handles.dirs.take(fi->fh);
}

void reply_read_fd(fuse_req_t req, const ops::OpenFile& file, size_t size, off_t offset) {
  // libfuse splices or reads straight from the verified fd: no copy through a daemon buffer.
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = file.fd.get();
  buf.buf[0].pos = offset;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void reply_written(fuse_req_t req, const Result<size_t>& r) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  fuse_reply_write(req, r.value());
}

void reply_readlink(fuse_req_t req, const Result<std::string>& r) {
  if (!r) return reply_error(req, r.code());
  fuse_reply_readlink(req, r->c_str());
}

void reply_buffer(fuse_req_t req, const char* buf, size_t size) { fuse_reply_buf(req, buf, size); }

void reply_xattr(fuse_req_t req, const Result<size_t>& r, const char* buf, size_t size) {
  if (!r) {
    fuse_reply_err(req, r.code());
  } else if (size == 0) {
    fuse_reply_xattr(req, r.value());
  } else {
    fuse_reply_buf(req, buf, r.value());
  }
}

void reply_statfs(fuse_req_t req, const Result<struct statvfs>& r) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  fuse_reply_statfs(req, &r.value());
}

void reply_lseek(fuse_req_t req, const Result<off_t>& r) {
  if (!r) {
    fuse_reply_err(req, r.code());
    return;
  }
  fuse_reply_lseek(req, r.value());
}

}  // namespace confinefs::fuse
