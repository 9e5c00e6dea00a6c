// Result<T>: a value or an error, never a sentinel mixed with data.
// An Error carries the errno the client will see and, for refusals that look like escape attempts,
// the reason, so the operations layer can audit them without re-deriving what happened.
#pragma once

#include <cerrno>
#include <optional>
#include <utility>

namespace confinefs {

// Why the resolver refused something that exists on the host. Anything but kNone is audited as a
// possible escape attempt: an outside process planted or raced it into the backing directory.
enum class Refusal : unsigned char {
  kNone,
  kSymlink,           // a symbolic link where the client asked to go
  kSpecialFile,       // FIFO, socket or device node
  kForeignMount,      // another mount (bind mount, mount point) inside the backing directory
  kHardlink,          // regular file with more than one link: another name may be outside
  kIdentityMismatch,  // the inode changed between lookup and use (a swap)
  kHostileName,       // a name from the client that is not one plain component
  kLinkEscape,        // a link target that is absolute or climbs above the mount root
  kMovedOut,          // the node is no longer beneath BACKING (an outside rename took it out)
};

const char* refusal_name(Refusal r) noexcept;

struct Error {
  int code;
  Refusal refusal = Refusal::kNone;
};

// Builds an Error from errno; call it immediately after the failing syscall.
inline Error last_error() noexcept { return Error{errno}; }

// Reports the value of an error result being read, and aborts.
[[noreturn]] void result_misuse(int code) noexcept;

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : error_(error) {}         // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const noexcept { return error_; }
  int code() const noexcept { return error_.code; }

  // Reading the value of an error is a bug in the daemon: it stops here (in every build type)
  // rather than act on an empty value.
  T& value() & { return *checked(); }
  const T& value() const& { return *checked(); }
  T&& value() && { return std::move(*checked()); }
  T* operator->() { return &*checked(); }
  const T* operator->() const { return &*checked(); }
  T& operator*() & { return *checked(); }

 private:
  std::optional<T>& checked() {
    if (!value_) [[unlikely]]
      result_misuse(error_.code);
    return value_;
  }
  const std::optional<T>& checked() const {
    if (!value_) [[unlikely]]
      result_misuse(error_.code);
    return value_;
  }
  std::optional<T> value_;
  Error error_{0};
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(error) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return error_.code == 0; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const noexcept { return error_; }
  int code() const noexcept { return error_.code; }

 private:
  Error error_{0};
};

inline Result<void> ok_result() { return {}; }

}  // namespace confinefs
