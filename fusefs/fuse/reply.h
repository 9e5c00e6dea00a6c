// Reply adapter: the only code that calls fuse_reply_*. Turns Results into replies, so handlers
// never mix errno plumbing with protocol calls.
#pragma once

#include <string>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/mount_state.h"
#include "fusefs/ops/ops.h"

namespace confinefs::fuse {

void reply_status(fuse_req_t req, const Result<void>& r);
void reply_error(fuse_req_t req, int code);
void reply_none(fuse_req_t req);
// Negative lookups (ENOENT) are cached by the kernel for timeouts.negative.
void reply_entry(fuse_req_t req, const Result<Entry>& r, const CacheTimeouts& t);
void reply_attr(fuse_req_t req, const Result<struct stat>& r, const CacheTimeouts& t);
// Open handles go into the mount's handle table (handles.h) before the reply, and come out again
// (released) when the kernel never got it (the request was interrupted).
void reply_open(fuse_req_t req, Result<std::unique_ptr<ops::OpenFile>> r, fuse_file_info* fi);
void reply_create(fuse_req_t req, Result<ops::Created> r, fuse_file_info* fi);
void reply_opendir(fuse_req_t req, Result<std::unique_ptr<ops::OpenDir>> r, fuse_file_info* fi);
void reply_read_fd(fuse_req_t req, const ops::OpenFile& file, size_t size, off_t offset);
void reply_written(fuse_req_t req, const Result<size_t>& r);
void reply_buffer(fuse_req_t req, const char* buf, size_t size);
void reply_readlink(fuse_req_t req, const Result<std::string>& r);
void reply_xattr(fuse_req_t req, const Result<size_t>& r, const char* buf, size_t size);
void reply_statfs(fuse_req_t req, const Result<struct statvfs>& r);
void reply_lseek(fuse_req_t req, const Result<off_t>& r);

}  // namespace confinefs::fuse
