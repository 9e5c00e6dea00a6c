// Outcome<T>: a result that left the operations layer through its audit point.
// Every public operation (ops.h) returns one, and answer() is the only way to make one: it passes
// the result through guards::audit(), which writes the line of a refusal. An operation therefore
// cannot return without its refusal audited, nor audit one twice (steps inside the layer return
// plain Results; only the public operation answers).
#pragma once

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

template <typename T>
Outcome<T> answer(const Request& r, Result<T> result) {
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
