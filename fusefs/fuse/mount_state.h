// What the FUSE handlers need beyond the Filesystem: kernel cache timeouts, readiness hooks and
// the open handles.
#pragma once

#include <functional>

#include "fusefs/fuse/connection_record.h"
#include "fusefs/fuse/handles.h"
#include "fusefs/fuse/passthrough.h"
#include "fusefs/fuse/request_drain.h"
#include "fusefs/mount/filesystem.h"

namespace confinefs::fuse {

// Kernel caching of names and attributes (seconds). The daemon verifies every request that
// reaches it whatever these are; they only bound how stale the client's view may be.
struct CacheTimeouts {
  double entry = 1.0;
  double attr = 1.0;
  double negative = 1.0;
  bool keep_cache = false;               // always keep the kernel page cache across opens
  bool keep_cache_if_unchanged = false;  // keep it when mtime, ctime and size are as last open
  // The kernel buffers writes and trusts its own size and mtime: only for a backing directory
  // that nothing but this mount writes (cache=full).
  bool writeback = false;
};

struct MountState {
  Filesystem* fs;
  CacheTimeouts timeouts;
  std::function<void()> on_ready;  // called once the kernel has completed INIT
  Handles handles{};               // open files and directories, by fi->fh
  Passthrough passthrough{};       // which opens the kernel serves from the host fd itself
  // The connection's INIT, recorded for a successor or replayed from a predecessor's record
  // (connection_record.h); none when the daemon keeps no state outside itself.
  ConnectionRecord* connection = nullptr;
  // resume=on: requests are read so that a planned hand-over answers all it took
  // (request_drain.h); the splice read path is then off.
  RequestDrain* drain = nullptr;
};

}  // namespace confinefs::fuse
