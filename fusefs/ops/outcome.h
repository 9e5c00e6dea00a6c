// Outcome<T>: a result that left the operations layer through its audit point.
// Every public operation (ops.h) returns one, and answer() is the only way to make one: it passes
// the result through guards::audit(), which writes the line of a refusal. An operation therefore
// cannot return without its refusal audited, nor audit one twice (steps inside the layer return
// plain Results; only the public operation answers).
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "fusefs/guards/audit.h"
#include "fusefs/result.h"

namespace confinefs::ops {

template <typename T>
class [[nodiscard]] Outcome : public Result<T> {
 private:
  explicit Outcome(Result<T> r) : Result<T>(std::move(r)) {}
  template <typename U>
  friend Outcome<U> answer(const Request& r, Result<U> result);
};

// resume=on: records how a change the request began ended (ops/replay.h), for a successor the
// kernel resends it to: -errno, or what the success carries and the inode it made.
void record_end(const Request& r, int64_t result, std::optional<InodeKey> made);

inline std::optional<InodeKey> made_by(const Entry& entry) {
  return InodeKey{entry.attr.st_dev, entry.attr.st_ino};
}

template <typename T>
void record_end(const Request& r, const Result<T>& result) {
  if (!result) return record_end(r, -static_cast<int64_t>(result.code()), std::nullopt);
  if constexpr (std::is_integral_v<T>) {
    record_end(r, static_cast<int64_t>(result.value()), std::nullopt);
  } else if constexpr (requires { made_by(result.value()); }) {
    record_end(r, 0, made_by(result.value()));
  } else {
    record_end(r, 0, std::nullopt);
  }
}

template <typename T>
Outcome<T> answer(const Request& r, Result<T> result) {
  if (r.began) record_end(r, result);
  if (result) {
    guards::audit_allowed(r);
  } else {
    guards::audit(r, result.error());
  }
  r.denial.reset();  // a decision a step overruled (tried again, or answered otherwise)
  return Outcome<T>(std::move(result));
}

// The answer of an operation refused before its steps ran (its subject could not be entered).
template <typename T>
Outcome<T> refused(const Request& r, const Error& e) {
  return answer(r, Result<T>(e));
}

}  // namespace confinefs::ops
