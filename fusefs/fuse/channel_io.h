// The /dev/fuse channel through libfuse's custom I/O hook (fuse_session_custom_io, libfuse 3.13+),
// for libfuse 3.14, whose API has no passthrough. Requests are read and replies written exactly as
// libfuse would (splice included); in passing, the hook notes what the kernel offered in INIT,
// asks for passthrough in the INIT reply when the mount wants it (fuse/passthrough.h), and marks
// the OPEN or CREATE reply a worker is sending inside a PassthroughReply scope. The byte layouts
// are fuse/passthrough_wire.h's. With resume=on it also records INIT for a successor, or replays
// a predecessor's (fuse/connection_record.h), and reads and counts requests so that a planned
// hand-over answers every request it took (fuse/request_drain.h).
#pragma once

#include <cstdint>

struct fuse_custom_io;

namespace confinefs::fuse {

// The hook table; libfuse hands it the session's userdata, the MountState.
const fuse_custom_io& channel_io();

// While alive, the OPEN or CREATE reply this thread sends carries FOPEN_PASSTHROUGH and
// backing_id (none when backing_id is 0). libfuse writes a reply on the thread that asked for it,
// before fuse_reply_open/create returns.
class PassthroughReply {
 public:
  explicit PassthroughReply(int32_t backing_id) noexcept;
  ~PassthroughReply();
  PassthroughReply(const PassthroughReply&) = delete;
  PassthroughReply& operator=(const PassthroughReply&) = delete;
};

}  // namespace confinefs::fuse
