#include "fusefs/fuse/channel_io.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>
#include <span>

#include "fusefs/fuse/connection_record.h"
#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/mount_state.h"
#include "fusefs/fuse/passthrough_wire.h"

namespace confinefs::fuse {
namespace {

thread_local int32_t t_reply_backing = 0;

MountState& state_of(void* userdata) { return *static_cast<MountState*>(userdata); }

ssize_t read_request(int fd, void* buf, size_t len, void* userdata) {
  MountState& st = state_of(userdata);
  // A resumed connection: libfuse first gets the INIT the kernel sent the first daemon.
  std::optional<ssize_t> replayed;
  if (st.connection != nullptr) replayed = st.connection->replayed_request(buf, len);
  if (replayed && *replayed > 0 && st.drain != nullptr) {
    st.drain->took_request(buf, static_cast<size_t>(*replayed));
  }
  ssize_t n = replayed              ? *replayed
              : st.drain != nullptr ? st.drain->read(fd, buf, len)
                                    : ::read(fd, buf, len);
  Passthrough& pt = st.passthrough;
  if (n > 0 && !pt.init_seen()) {
    std::span<const std::byte> request(static_cast<const std::byte*>(buf), size_t(n));
    if (auto offer = wire::read_init_request(request)) {
      pt.offered(*offer);
      if (st.connection != nullptr) st.connection->saw_request(request);
    }
  }
  return n;
}

ssize_t write_all(int fd, const iovec* iov, int count) { return ::writev(fd, iov, count); }

// The reply's body (iov[1]) copied and changed by patch, then sent with the header and any
// further parts as they were. libfuse's own buffers are never written to.
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

ssize_t send_reply(int fd, iovec* iov, int count, void* userdata) {
  wire::OutHeader out{};
  if (count < 2 || iov[0].iov_len != sizeof out) return ::writev(fd, iov, count);
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.error != 0) return ::writev(fd, iov, count);
  bool patched = false;
  if (t_reply_backing > 0) {
    int32_t id = t_reply_backing;
    return send_patched(
        fd, iov, count, [id](std::span<std::byte> b) { return wire::set_backing(b, id); },
        write_all, patched);
  }
  MountState& st = state_of(userdata);
  if (!st.passthrough.takes_init_reply(out.unique)) return ::writev(fd, iov, count);
  // INIT's reply: recorded for a successor, or swallowed on a resumed connection.
  auto send = [&st](int to, const iovec* parts, int n) {
    return st.connection != nullptr ? st.connection->send_reply(to, parts, n)
                                    : ::writev(to, parts, n);
  };
  ssize_t n = 0;
  if (st.passthrough.wants(st.timeouts.writeback)) {
    n = send_patched(fd, iov, count, wire::ask_passthrough, send, patched);
  } else {
    n = send(fd, iov, count);
  }
  if (n >= 0) st.passthrough.replied(patched);
  return n;
}

ssize_t write_reply(int fd, iovec* iov, int count, void* userdata) {
  ssize_t n = send_reply(fd, iov, count, userdata);
  MountState& st = state_of(userdata);
  wire::OutHeader out{};
  // Sent or not (ENOENT: the kernel gave the request up, it was interrupted), it is done.
  if (st.drain != nullptr && count >= 1 && iov[0].iov_len >= sizeof out) {
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    if (out.unique != 0) st.drain->answered();  // 0: a notification
  }
  return n;
}

ssize_t splice_through(int in, off_t* in_off, int out, off_t* out_off, size_t len, unsigned flags,
                       void*) {
  return ::splice(in, in_off, out, out_off, len, flags);
}

// A reply libfuse moves from its pipe (a READ's data): one call is one whole reply.
ssize_t splice_reply(int in, off_t* in_off, int out, off_t* out_off, size_t len, unsigned flags,
                     void* userdata) {
  ssize_t n = ::splice(in, in_off, out, out_off, len, flags);
  MountState& st = state_of(userdata);
  if (st.drain != nullptr) st.drain->answered();
  return n;
}

const fuse_custom_io kChannelIo = {
    .writev = write_reply,
    .read = read_request,
    .splice_receive = splice_through,
    .splice_send = splice_reply,
};

}  // namespace

const fuse_custom_io& channel_io() { return kChannelIo; }

PassthroughReply::PassthroughReply(int32_t backing_id) noexcept { t_reply_backing = backing_id; }
PassthroughReply::~PassthroughReply() { t_reply_backing = 0; }

}  // namespace confinefs::fuse
