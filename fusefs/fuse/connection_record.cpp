#include "fusefs/fuse/connection_record.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "fusefs/fuse/libfuse314/wire.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::fuse {
namespace {

// The memfd: a header, then the request and the reply in fixed places. A length is written
// after its bytes, so a daemon killed while recording leaves a record that replay() refuses.
struct Layout {
  char magic[8];
  uint32_t request_length;
  uint32_t reply_length;
  uint64_t mount_id;
  uint64_t mount_unique_id;
  uint64_t generation;
};
constexpr char kMagic[8] = {'c', 'f', 's', 'i', 'n', 'i', 't', '1'};
constexpr size_t kMaxPart = 512;
constexpr size_t kRequestAt = 64;
constexpr size_t kReplyAt = kRequestAt + kMaxPart;
constexpr size_t kSize = kReplyAt + kMaxPart;

void ask_resend(int fd) {
  wire::OutHeader notify{sizeof notify, wire::kNotifyResend, 0};
  if (::write(fd, &notify, sizeof notify) != static_cast<ssize_t>(sizeof notify)) {
    spdlog::warn(
        "the kernel took no FUSE_NOTIFY_RESEND ({}): requests the previous daemon "
        "read and did not answer wait until their callers give up",
        std::strerror(errno));
  }
}

}  // namespace

ConnectionRecord::ConnectionRecord(ConnectionRecord&& other) noexcept
    : memfd_(std::move(other.memfd_)),
      replaying_(other.replaying_),
      request_(std::move(other.request_)),
      reply_(std::move(other.reply_)),
      mount_(other.mount_),
      generation_(other.generation_),
      handed_out_(other.handed_out_.load()),
      replied_(other.replied_.load()),
      agreed_(other.agreed_.load()) {}

Result<ConnectionRecord> ConnectionRecord::record() {
  auto memfd = sys::memfd("confinefs-init");
  if (!memfd) return memfd.error();
  if (auto ok = sys::ftruncate(memfd->ref(), kSize); !ok) return ok.error();
  Layout empty{};
  std::memcpy(empty.magic, kMagic, sizeof kMagic);
  empty.generation = 1;
  auto n = sys::pwrite(memfd->ref(), &empty, sizeof empty, 0);
  if (!n) return n.error();
  return ConnectionRecord(std::move(memfd.value()), false);
}

Result<ConnectionRecord> ConnectionRecord::replay(Fd memfd) {
  Layout head{};
  auto n = sys::pread(memfd.ref(), &head, sizeof head, 0);
  if (!n || n.value() != sizeof head || std::memcmp(head.magic, kMagic, sizeof kMagic) != 0 ||
      head.request_length < sizeof(wire::InHeader) || head.request_length > kMaxPart ||
      head.reply_length < sizeof(wire::OutHeader) || head.reply_length > kMaxPart ||
      head.mount_id == 0) {
    return Error{EINVAL};
  }
  ConnectionRecord h(std::move(memfd), true);
  h.mount_ = MountIds{head.mount_id, head.mount_unique_id};
  // A new generation, recorded before any handle of it goes out.
  if (head.generation == 0 || head.generation >= (uint64_t{1} << (64 - kHandleBits)) - 1) {
    return Error{EINVAL};
  }
  h.generation_ = head.generation + 1;
  auto g = sys::pwrite(h.memfd_.ref(), &h.generation_, sizeof h.generation_,
                       offsetof(Layout, generation));
  if (!g) return g.error();
  h.request_.resize(head.request_length);
  h.reply_.resize(head.reply_length);
  auto req = sys::pread(h.memfd_.ref(), h.request_.data(), h.request_.size(), kRequestAt);
  auto rep = sys::pread(h.memfd_.ref(), h.reply_.data(), h.reply_.size(), kReplyAt);
  if (!req || req.value() != h.request_.size() || !rep || rep.value() != h.reply_.size() ||
      !wire::read_init_request(h.request_)) {
    return Error{EINVAL};
  }
  return h;
}

Result<void> ConnectionRecord::store(size_t offset, std::span<const std::byte> bytes) {
  if (bytes.size() > kMaxPart) return Error{E2BIG};
  auto n = sys::pwrite(memfd_.ref(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
  if (!n) return n.error();
  auto length = static_cast<uint32_t>(bytes.size());
  size_t field =
      offset == kRequestAt ? offsetof(Layout, request_length) : offsetof(Layout, reply_length);
  auto m = sys::pwrite(memfd_.ref(), &length, sizeof length, static_cast<off_t>(field));
  if (!m) return m.error();
  return {};
}

Result<void> ConnectionRecord::record_mount(MountIds ids) {
  uint64_t words[2] = {ids.id, ids.unique_id};
  auto n = sys::pwrite(memfd_.ref(), words, sizeof words, offsetof(Layout, mount_id));
  if (!n) return n.error();
  mount_ = ids;
  return {};
}

std::optional<ssize_t> ConnectionRecord::replayed_request(void* buf, size_t size) {
  if (!replaying_) return std::nullopt;
  if (!handed_out_.exchange(true, std::memory_order_acq_rel)) {
    if (size < request_.size()) {
      errno = EINVAL;
      return -1;
    }
    std::memcpy(buf, request_.data(), request_.size());
    return static_cast<ssize_t>(request_.size());
  }
  // Requests the kernel queued meanwhile wait for the INIT libfuse is answering: answered
  // before it, they would get EIO.
  replied_.wait(false, std::memory_order_acquire);
  if (agreed()) return std::nullopt;
  errno = ENODEV;
  return -1;
}

void ConnectionRecord::release_readers() {
  replied_.store(true, std::memory_order_release);
  replied_.notify_all();
}

void ConnectionRecord::saw_request(std::span<const std::byte> request) {
  if (!replaying_) (void)store(kRequestAt, request);
}

ssize_t ConnectionRecord::send_reply(int fd, const iovec* parts, int count) {
  std::vector<std::byte> reply;
  for (int i = 0; i < count; ++i) {
    auto* base = static_cast<const std::byte*>(parts[i].iov_base);
    reply.insert(reply.end(), base, base + parts[i].iov_len);
  }
  if (!replaying_) {
    ssize_t n = ::writev(fd, parts, count);
    if (n >= 0) (void)store(kReplyAt, reply);
    return n;
  }
  const bool agreed = reply == reply_;
  // Before any other worker reads: the requests the predecessor read and never answered come
  // back, at the head of the queue, marked as resent (mount/attempt_log.h answers each once).
  if (agreed) ask_resend(fd);
  agreed_.store(agreed, std::memory_order_release);
  return static_cast<ssize_t>(reply.size());
}

}  // namespace confinefs::fuse
