// Shared plumbing of the torture workers: command-line options, counters, the stop flag, and the
// one-line JSON report that scripts/torture parses. Nothing here touches the mount.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "unique_fd.h"

namespace torture {

// Thrown when a scenario cannot even be set up (e.g. hardlinks across filesystems); the script
// reports that scenario as an error rather than a pass.
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "--key value" pairs; every worker option takes a value, which keeps parsing trivial.
class Options {
 public:
  Options(int argc, char** argv);
  std::string str(const std::string& key) const;
  std::string str_or(const std::string& key, const std::string& fallback) const;
  long num_or(const std::string& key, long fallback) const;
  std::vector<std::string> list(const std::string& key) const;  // comma-separated

 private:
  std::map<std::string, std::string> values_;
};

// Set once by the main thread at the deadline; every loop polls it between attempts.
extern std::atomic<bool> g_stop;
inline bool stopping() { return g_stop.load(std::memory_order_relaxed); }

// errno histogram that many threads bump without a lock.
class ErrnoCounts {
 public:
  void add(int err) {
    counts_[err > 0 && err < kMax ? err : 0].fetch_add(1, std::memory_order_relaxed);
  }
  std::string json() const;  // {"ENOENT": 12, ...}

 private:
  static constexpr int kMax = 160;
  std::array<std::atomic<uint64_t>, kMax> counts_{};
};

// A counter plus the first few examples of what it counted, for the report.
class Evidence {
 public:
  void add(std::string example);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::string json_examples() const;

 private:
  static constexpr size_t kMaxExamples = 5;
  std::atomic<uint64_t> count_{0};
  mutable std::mutex mu_;
  std::vector<std::string> examples_;
};

std::string json_escape(std::string_view s);
// Replaces bytes that are not printable ASCII, so binary read results stay readable in reports.
std::string printable(std::string_view s, size_t max_len = 120);

// Sleeps until the deadline (seconds from now), then raises g_stop.
void run_until(double seconds);

// Opens a directory the worker itself controls (backing dir, attic); failure is a setup error.
UniqueFd open_dir_or_throw(const std::string& path);

std::string errno_name(int err);

}  // namespace torture
