#include "common.h"

#include <fcntl.h>
#include <string.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

namespace torture {

std::atomic<bool> g_stop{false};

Options::Options(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw SetupError("bad option: " + key);
    values_[key.substr(2)] = argv[++i];
  }
}

std::string Options::str(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw SetupError("missing option --" + key);
  return it->second;
}

std::string Options::str_or(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

long Options::num_or(const std::string& key, long fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : std::stol(it->second);
}

std::vector<std::string> Options::list(const std::string& key) const {
  std::vector<std::string> out;
  std::stringstream in(str(key));
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string errno_name(int err) {
  const char* name = err == 0 ? "other" : strerrorname_np(err);
  return name ? name : "E" + std::to_string(err);
}

std::string ErrnoCounts::json() const {
  std::string out = "{";
  for (int e = 0; e < kMax; ++e) {
    uint64_t n = counts_[e].load(std::memory_order_relaxed);
    if (n == 0) continue;
    if (out.size() > 1) out += ", ";
    out += "\"" + errno_name(e) + "\": " + std::to_string(n);
  }
  return out + "}";
}

void Evidence::add(std::string example) {
  if (count_.fetch_add(1, std::memory_order_relaxed) >= kMaxExamples) return;
  std::lock_guard lock(mu_);
  examples_.push_back(std::move(example));
}

std::string Evidence::json_examples() const {
  std::lock_guard lock(mu_);
  std::string out = "[";
  for (size_t i = 0; i < examples_.size(); ++i)
    out += (i ? ", \"" : "\"") + json_escape(examples_[i]) + "\"";
  return out + "]";
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string printable(std::string_view s, size_t max_len) {
  std::string out;
  for (unsigned char c : s.substr(0, max_len)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '.';
  return out;
}

void run_until(double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::this_thread::sleep_until(deadline);
  g_stop.store(true);
}

UniqueFd open_dir_or_throw(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw SetupError("open " + path + ": " + strerror(errno));
  return fd;
}

}  // namespace torture
