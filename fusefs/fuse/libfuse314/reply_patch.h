// How a reply comes to carry passthrough on libfuse 3.14, whose fuse_reply_open() and INIT reply
// know nothing of it: the channel hook (fuse/channel_io.cpp) copies the reply's body and patches
// the copy (libfuse's own buffers are never written to). Which OPEN or CREATE reply to patch, and
// with which backing id, travels from reply.cpp to the hook in a thread-local: libfuse writes a
// reply on the thread that asked for it, before fuse_reply_open/create returns.
// On libfuse >= 3.17 all of this goes (README.md in this folder).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace confinefs::fuse {

// While alive, the OPEN or CREATE reply this thread sends carries FOPEN_PASSTHROUGH and
// backing_id (none when backing_id is 0).
class PassthroughReply {
 public:
  explicit PassthroughReply(int32_t backing_id) noexcept;
  ~PassthroughReply();
  PassthroughReply(const PassthroughReply&) = delete;
  PassthroughReply& operator=(const PassthroughReply&) = delete;

  // The backing id the reply this thread is sending must carry; 0: none.
  static int32_t current() noexcept;
};

// The reply's body (iov[1]) copied and changed by patch, then sent with the header and any
// further parts as they were; patched tells whether patch changed it.
template <typename Patch, typename Send>
ssize_t send_patched(int fd, const iovec* iov, int count, Patch patch, Send send, bool& patched) {
  std::array<std::byte, 512> body{};
  if (count < 2 || count > 8 || iov[1].iov_len > body.size()) return send(fd, iov, count);
  std::memcpy(body.data(), iov[1].iov_base, iov[1].iov_len);
  patched = patch(std::span<std::byte>(body.data(), iov[1].iov_len));
  std::array<iovec, 8> parts{};
  std::copy(iov, iov + count, parts.begin());
  parts[1].iov_base = body.data();
  return send(fd, parts.data(), count);
}

}  // namespace confinefs::fuse
