#include "fusefs/fuse/channel_io.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <span>

#include "fusefs/fuse/connection_record.h"
#include "fusefs/fuse/current_request.h"
#include "fusefs/fuse/fuse_api.h"
#include "fusefs/fuse/libfuse314/reply_patch.h"
#include "fusefs/fuse/libfuse314/wire.h"
#include "fusefs/fuse/mount_state.h"

namespace confinefs::fuse {
namespace {

MountState& state_of(void* userdata) { return *static_cast<MountState*>(userdata); }

// resume=on: which request this thread is about to serve (current_request.h).
void note_request(const void* buf, ssize_t n) {
  wire::InHeader in{};
  if (n < static_cast<ssize_t>(sizeof in)) {
    current_request = {};
    return;
  }
  std::memcpy(&in, buf, sizeof in);
  current_request = {in.unique & ~wire::kUniqueResend, (in.unique & wire::kUniqueResend) != 0};
}

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
  if (st.drain != nullptr) {
    note_request(buf, n);
    if (current_request.resent) {
      st.fs->counters().resent.fetch_add(1, std::memory_order_relaxed);
    } else if (AttemptLog* attempts = st.fs->attempts(); attempts && current_request.unique != 0) {
      attempts->fresh_request();
    }
  }
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

ssize_t send_reply(int fd, iovec* iov, int count, void* userdata) {
  wire::OutHeader out{};
  if (count < 2 || iov[0].iov_len != sizeof out) return ::writev(fd, iov, count);
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  if (out.error != 0) return ::writev(fd, iov, count);
  bool patched = false;
  if (int32_t id = PassthroughReply::current(); id > 0) {
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
  if (st.connection != nullptr && st.connection->replaying()) st.connection->release_readers();
  return n;
}

ssize_t write_reply(int fd, iovec* iov, int count, void* userdata) {
  ssize_t n = send_reply(fd, iov, count, userdata);
  MountState& st = state_of(userdata);
  wire::OutHeader out{};
  // Sent or not (ENOENT: the kernel gave the request up, it was interrupted), it is done.
  if (st.drain != nullptr && count >= 1 && iov[0].iov_len >= sizeof out) {
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    if (out.unique != 0) {  // 0: a notification
      if (AttemptLog* attempts = st.fs->attempts()) {
        attempts->answered(out.unique & ~wire::kUniqueResend);
      }
      st.drain->answered();
    }
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

}  // namespace confinefs::fuse
