// One error style for cmd/. Small steps (open a directory, mount, drop a capability) return
// Result<T> with an errno, as fusefs/ does. A start-up phase that cannot go on returns a Failure:
// one line for the operator that says what and where, and the exit status it means. Nothing
// below main.cpp prints a failure and returns false: main.cpp reports each one once (report()).
#pragma once

#include <string>
#include <utility>

#include "fusefs/result.h"

namespace confinefs::cmd {

// Exit statuses: 0 after a clean unmount; usage and configuration errors (nothing is mounted
// then) and failures at run time.
enum class Exit : int { kRuntime = 1, kUsage = 2 };

struct Failure {
  Exit exit = Exit::kRuntime;
  std::string message;

  static Failure usage(std::string message) { return {Exit::kUsage, std::move(message)}; }
  static Failure runtime(std::string message) { return {Exit::kRuntime, std::move(message)}; }
};

// A start-up phase's outcome: its value, or the Failure that stops start-up.
template <typename T = void>
using Phase = Result<T, Failure>;

inline const char* describe(const Failure& f) noexcept { return f.message.c_str(); }

// "WHAT: strerror(code)", the usual shape of a message about a failed step.
std::string with_errno(const std::string& what, int code);

// Reports a failure once: a usage error as "confinefs: MESSAGE" on stderr (the operator's
// terminal or the journal, before logging is set up too), a run-time failure through the log.
// Returns the exit status.
int report(const Failure& failure);

}  // namespace confinefs::cmd
