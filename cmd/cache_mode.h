// -o cache=strict|auto|full: how long the kernel may trust names, attributes and page cache that
// outside writers could make stale. Confinement never depends on it: every request that reaches
// the daemon is verified whatever the mode.
#pragma once

#include "cmd/options.h"
#include "fusefs/fuse/mount_state.h"

namespace confinefs::cmd {

fuse::CacheTimeouts timeouts_for(CacheMode mode);

}  // namespace confinefs::cmd
