// The torture workers open and close descriptors hundreds of thousands of times per second; a
// leaked fd would end a soak with EMFILE and look like a daemon failure, so every fd lives in the
// project's one move-only owner.
#pragma once

#include "fusefs/fd.h"

namespace torture {

using UniqueFd = confinefs::Fd;

}  // namespace torture
