#include "cmd/cache_mode.h"

namespace confinefs::cmd {

fuse::CacheTimeouts timeouts_for(CacheMode mode) {
  // {entry, attr, negative timeouts in seconds, keep pages always, keep pages if unchanged,
  //  writeback}
  switch (mode) {
    case CacheMode::kStrict: return {0.0, 0.0, 0.0, false, false, false};
    case CacheMode::kAuto: return {1.0, 1.0, 1.0, false, true, false};
    case CacheMode::kFull: return {3600.0, 3600.0, 3600.0, true, true, true};
  }
  return {};
}

}  // namespace confinefs::cmd
