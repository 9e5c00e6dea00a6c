// Result<T>: a value or an error, never a sentinel mixed with data.
// An Error carries the errno the client will see and, for a refusal, its kind, so the one audit
// point (guards/audit.h) can record it without re-deriving what happened.
#pragma once

#include <cerrno>
#include <concepts>
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
  kUndecided,         // resent after its daemon died: whether its change happened cannot be told
  // Not the host's doing: the tenant's policy or limits refused it, or a name the kernel cached
  // no longer leads to its node. The request keeps the particulars (mount/request.h, Verdict).
  kDenied,
};

const char* refusal_name(Refusal r) noexcept;

struct Error {
  int code;
  Refusal refusal = Refusal::kNone;
  // Which of the request's subjects a refusal concerns: 0 its first (the node, or the directory
  // and name), 1 its second (a rename's destination). Read by the audit point (guards/audit.h).
  unsigned char subject = 0;
};

// Builds an Error from errno; call it immediately after the failing syscall.
inline Error last_error() noexcept { return Error{errno}; }

// Reports the value of an error result being read (what: the error, described), and aborts.
[[noreturn]] void result_misuse(const char* what) noexcept;
// How result_misuse describes an Error; another error type E brings its own describe(const E&),
// found by argument-dependent lookup (cmd::Failure).
const char* describe(const Error& e) noexcept;

// E is the error type: Error (an errno and a refusal) in the daemon core and for cmd/'s small
// steps; cmd::Failure (a message and an exit status) for the start-up phases main.cpp runs.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const E& error() const noexcept { return error_; }
  int code() const noexcept requires std::same_as<E, Error> { return error_.code; }

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
      result_misuse(describe(error_));
    return value_;
  }
  const std::optional<T>& checked() const {
    if (!value_) [[unlikely]]
      result_misuse(describe(error_));
    return value_;
  }
  std::optional<T> value_;
  E error_{};
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const E& error() const noexcept { return error_; }
  int code() const noexcept requires std::same_as<E, Error> { return error_.code; }

 private:
  E error_{};
  bool failed_ = false;
};

inline Result<void> ok_result() { return {}; }

}  // namespace confinefs
