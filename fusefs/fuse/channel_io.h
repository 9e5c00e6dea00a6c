// The /dev/fuse channel through libfuse's custom I/O hook (fuse_session_custom_io, libfuse 3.13+),
// for libfuse 3.14, whose API has no passthrough. Requests are read and replies written exactly as
// libfuse would (splice included); in passing, the hook notes what the kernel offered in INIT,
// asks for passthrough in the INIT reply when the mount wants it (fuse/passthrough.h), and patches
// the OPEN or CREATE reply a worker is sending inside a PassthroughReply scope: the libfuse 3.14
// shims of fuse/libfuse314/ (its README.md says what replaces them). The byte layouts are
// fuse/libfuse314/wire.h's. With resume=on it also records INIT for a successor, or replays
// a predecessor's (fuse/connection_record.h), and reads and counts requests so that a planned
// hand-over answers every request it took (fuse/request_drain.h).
#pragma once

struct fuse_custom_io;

namespace confinefs::fuse {

// The hook table; libfuse hands it the session's userdata, the MountState.
const fuse_custom_io& channel_io();

}  // namespace confinefs::fuse
