// The operations layer: one function per FUSE operation, pure C++ over Filesystem, testable
// without /dev/fuse. Every host access goes through Resolver (names) or a verified fd (content);
// see verify.h and gate.h for the two checks every operation passes.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fusefs/guards/growth.h"
#include "fusefs/mount/filesystem.h"
#include "fusefs/mount/request.h"
#include "fusefs/ops/outcome.h"
#include "fusefs/sys/dir_stream.h"

namespace confinefs::ops {

// An open regular file: an fd verified at open, bound to the inode for its whole life.
struct OpenFile {
  Fd fd;
  NodeRef node;
  bool unchanged_since_last_open = false;  // the kernel may keep its cached pages (cache=auto)
  bool pages_stale = false;  // a direct write since the last open: the kernel must drop them
  bool append = false;       // opened O_APPEND on the host: writes land at the real end of the file
  bool direct = false;       // opened O_DIRECT: the kernel's writes bypass its page cache
  int flags = 0;  // the open's flags, for a successor daemon to reopen it (fuse/handles.h)
  // Whether the kernel may do this open's reads and writes without the daemon (FUSE passthrough,
  // fuse/passthrough.h), under the policy the open was decided with: not while byte limits are
  // in force (quota_bytes, max_file_size), whose writes must be counted. Not even for a
  // read-only open then: the kernel requires every open of a file to pass through once one does,
  // and a write open may come next.
  bool may_pass_through = false;
};

// An open directory: a verified fd and its getdents stream (one reader at a time).
struct OpenDir {
  NodeRef node;
  std::mutex mutex;
  sys::DirStream stream;
};

// Which attributes setattr changes (mirrors FUSE_SET_ATTR_*, without the FUSE dependency).
struct AttrChange {
  std::optional<mode_t> mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<off_t> size;
  std::optional<struct timespec> atime;  // tv_nsec may be UTIME_NOW
  std::optional<struct timespec> mtime;
};

Outcome<Entry> lookup(const Request& r, uint64_t parent, const char* name);
// The lookup a READDIRPLUS makes for each entry: containment of the directory is checked for
// the whole reply by listing_scope() before and listing_done() after (dir.cpp).
Outcome<Entry> lookup_listed(const Request& r, uint64_t parent, const char* name);
void forget(const Request& r, uint64_t node, uint64_t count);
Outcome<struct stat> getattr(const Request& r, uint64_t node);
Outcome<struct stat> setattr(const Request& r, uint64_t node, const AttrChange& change,
                             OpenFile* file);

Outcome<std::unique_ptr<OpenFile>> open(const Request& r, uint64_t node, int flags);
struct Created {
  Entry entry;
  std::unique_ptr<OpenFile> file;
};
Outcome<Created> create(const Request& r, uint64_t parent, const char* name, mode_t mode,
                        int flags);
inline std::optional<InodeKey> made_by(const Created& created) { return made_by(created.entry); }
// Closes an open file; the quota gets back the bytes of a file removed while it was open.
void release(Filesystem& fs, std::unique_ptr<OpenFile> file);
Outcome<size_t> write(const Request& r, OpenFile& file, const void* buf, size_t size, off_t offset);
// The policy's growth limits for a write of length bytes at offset (EFBIG past max_file_size,
// EDQUOT past quota_bytes). Keep the Growth alive until the write is done and destroy it before
// replying: it settles the quota by reading the file's size through the fd (growth.h).
Outcome<guards::Growth> admit_write(const Request& r, OpenFile& file, off_t offset, size_t length);
// After a write reached the host: a direct write makes the next open drop cached pages (io.cpp).
void wrote(const OpenFile& file);
Result<void> fsync(OpenFile& file, bool data_only);
Outcome<void> fallocate(const Request& r, OpenFile& file, int mode, off_t offset, off_t length);
Result<off_t> lseek(OpenFile& file, off_t offset, int whence);
Outcome<size_t> copy_file_range(const Request& r, OpenFile& in, off_t in_off, OpenFile& out,
                                off_t out_off, size_t len);

Outcome<std::unique_ptr<OpenDir>> opendir(const Request& r, uint64_t node);
// What one READDIR request may show of a directory, decided once for all its entries: the
// policy as it is now and, when it has rules, where the directory is now (a directory moved
// under a hidden path after it was opened lists nothing more: ENOENT).
struct ListingScope {
  std::shared_ptr<const policy::Policy> policy;
  std::optional<std::string> dir_path;  // the verified virtual path; only with rules
  bool check_visible = false;     // classify each entry with statx (plain readdir; readdirplus
                                  // looks each entry up, which classifies it too)
  bool objects_possible = false;  // a plain readdir of a directory marked as holding links,
                                  // FIFOs or sockets: their d_type must be DT_UNKNOWN
};
Outcome<ListingScope> listing_scope(const Request& r, OpenDir& dir, bool check_visible, bool plain);
// Before a READDIR reply goes out: without rules, the directory must still be inside BACKING,
// else nothing read since listing_scope() is shown (names the host put there after an outside
// rename took it out). The caller then forgets the nodes its READDIRPLUS entries remembered.
Outcome<void> listing_done(const Request& r, OpenDir& dir);
// Next visible entry at or after the stream position, without consuming it; nullopt at the end.
Outcome<std::optional<sys::DirEntry>> peek_entry(const Request& r, OpenDir& dir,
                                                 const ListingScope& scope);
Result<void> fsyncdir(OpenDir& dir, bool data_only);
Outcome<Entry> mkdir(const Request& r, uint64_t parent, const char* name, mode_t mode);
// Regular files, FIFOs and sockets (ops/objects.cpp); devices are refused.
Outcome<Entry> mknod(const Request& r, uint64_t parent, const char* name, mode_t mode);
Outcome<Entry> symlink(const Request& r, uint64_t parent, const char* name, const char* target);
Outcome<std::string> readlink(const Request& r, uint64_t node);
Outcome<void> unlink(const Request& r, uint64_t parent, const char* name);
Outcome<void> rmdir(const Request& r, uint64_t parent, const char* name);
Outcome<void> rename(const Request& r, uint64_t parent, const char* name, uint64_t new_parent,
                     const char* new_name, unsigned flags);
Outcome<void> refuse_hardlink(const Request& r, uint64_t parent, const char* name);

Outcome<size_t> getxattr(const Request& r, uint64_t node, const char* name, void* value,
                         size_t size);
Outcome<void> setxattr(const Request& r, uint64_t node, const char* name, const void* value,
                       size_t size, int flags);
Outcome<size_t> listxattr(const Request& r, uint64_t node, char* list, size_t size);
Outcome<void> removexattr(const Request& r, uint64_t node, const char* name);

Outcome<struct statvfs> statfs(const Request& r, uint64_t node);

}  // namespace confinefs::ops
