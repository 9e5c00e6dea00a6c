#include "cmd/cache_mode.h"

namespace confinefs::cli {

fuse::CacheTimeouts timeouts_for(CacheMode mode) {
  switch (mode) {
    case CacheMode::kStrict:
      return {0.0, 0.0, 0.0, false};
    case CacheMode::kAuto:
      return {1.0, 1.0, 1.0, false};
    case CacheMode::kFull:
      return {3600.0, 3600.0, 3600.0, true};
  }
  return {};
}

}  // namespace confinefs::cli
