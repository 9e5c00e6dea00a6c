// The one place that selects the libfuse API version; include this, never <fuse_lowlevel.h>.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
