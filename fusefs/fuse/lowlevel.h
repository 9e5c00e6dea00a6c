// The table of low-level FUSE handlers: each decodes one request, calls the operations layer and
// hands the Result to the reply adapter.
#pragma once

#include "fusefs/fuse/fuse_api.h"

namespace confinefs::fuse {

const fuse_lowlevel_ops& lowlevel_ops();

}  // namespace confinefs::fuse
