// The kernel's unique id of the request this thread serves. libfuse gives a request's handler no
// way to read it (no version has an API for it), so the channel hook (fuse/channel_io.cpp) notes
// it as the thread reads the request: libfuse's workers each read a request and serve it on the
// same thread. Only with resume=on, whose requests are read, never spliced (request_drain.h);
// otherwise it stays zero.
#pragma once

#include <cstdint>

namespace confinefs::fuse {

struct RequestHeader {
  uint64_t unique = 0;  // without the resend bit
  bool resent = false;  // the kernel resent it: a predecessor daemon read it and died
};

inline thread_local RequestHeader current_request;

}  // namespace confinefs::fuse
