#include "fusefs/fuse/request_drain.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "fusefs/fuse/libfuse314/wire.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::fuse {
namespace {

// Requests the kernel expects no reply to: FORGET, INTERRUPT, NOTIFY_REPLY, BATCH_FORGET.
bool expects_reply(const void* request, size_t size) {
  wire::InHeader in{};
  if (size < sizeof in) return false;
  std::memcpy(&in, request, sizeof in);
  return in.opcode != 2 && in.opcode != 36 && in.opcode != 41 && in.opcode != 42;
}

[[noreturn]] void wait_for_exit() {
  for (;;) ::poll(nullptr, 0, -1);  // a cancellation point: libfuse may still cancel it
}

}  // namespace

Result<RequestDrain> RequestDrain::create() {
  auto wake = sys::pipe(O_CLOEXEC | O_NONBLOCK);
  if (!wake) return wake.error();
  return RequestDrain(std::move(wake->read), std::move(wake->write));
}

RequestDrain::RequestDrain(RequestDrain&& other) noexcept
    : wake_read_(std::move(other.wake_read_)),
      wake_write_(std::move(other.wake_write_)),
      wake_(std::move(other.wake_)) {}

ssize_t RequestDrain::read(int fd, void* buf, size_t size) {
  // Counted as reading before the check: wait_idle() then waits for this read to end (and for
  // the request it returns to be answered), or this read sees the drain and never starts.
  reading_.fetch_add(1);
  if (draining_.load()) {
    reading_.fetch_sub(1);
    wait_for_exit();
  }
  ssize_t n = ::read(fd, buf, size);
  int err = errno;
  if (n > 0 && expects_reply(buf, static_cast<size_t>(n))) unanswered_.fetch_add(1);
  reading_.fetch_sub(1);
  errno = err;
  return n;
}

void RequestDrain::took_request(const void* request, size_t size) noexcept {
  if (expects_reply(request, size)) unanswered_.fetch_add(1);
}

void RequestDrain::answered() noexcept {
  unanswered_.fetch_sub(1);
  answered_.fetch_add(1, std::memory_order_relaxed);
}

void RequestDrain::begin() noexcept {
  draining_.store(true);
  char byte = 1;
  (void)!::write(wake_write_.get(), &byte, 1);
}

void RequestDrain::wait_begun() const {
  pollfd p{wake_read_.get(), POLLIN, 0};
  while (!draining_.load()) ::poll(&p, 1, -1);
}

bool RequestDrain::wait_idle(std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  auto next_wake = std::chrono::steady_clock::now();
  while (reading_.load() != 0 || unanswered_.load() > 0) {
    auto now = std::chrono::steady_clock::now();
    if (now > until) return false;
    // A worker blocked in read: one request of our own wakes it (it answers it, then stops).
    if (reading_.load() != 0 && wake_ && now >= next_wake) {
      std::thread(wake_).detach();
      next_wake = now + std::chrono::milliseconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace confinefs::fuse
