// The only owner of raw file descriptors in confinefs.
// Invariant: every descriptor the daemon opens lives in exactly one Fd, which closes it exactly
// once; functions take FdRef (a borrowed, non-owning view) so a raw int never crosses a function
// boundary.
#pragma once

#include <unistd.h>

#include <cerrno>

namespace confinefs {

class FdRef {
 public:
  constexpr explicit FdRef(int fd) noexcept : fd_(fd) {}
  constexpr int get() const noexcept { return fd_; }

 private:
  int fd_;
};

class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }

  bool valid() const noexcept { return fd_ >= 0; }
  int get() const noexcept { return fd_; }
  FdRef ref() const noexcept { return FdRef(fd_); }

  [[nodiscard]] int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Keeps errno: callers often close a half-built result on an error path and then report errno.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace confinefs
