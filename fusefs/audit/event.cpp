#include "fusefs/audit/event.h"

#include <cstring>
#include <ctime>

namespace confinefs::audit {
namespace {

void field(std::string* out, std::string_view key, std::string_view value) {
  *out += ",\"";
  *out += key;
  *out += "\":\"";
  append_json_string(out, value);
  *out += '"';
}

void field(std::string* out, std::string_view key, long long value) {
  *out += ",\"";
  *out += key;
  *out += "\":";
  *out += std::to_string(value);
}

// The errno's symbolic name ("EACCES") is stabler to match on than strerror's text.
const char* errno_name(int code) {
  const char* name = strerrorname_np(code);
  return name != nullptr ? name : "";
}

void append_rule(std::string* out, const Event& e) {
  if (e.kind != Kind::kPolicy && e.kind != Kind::kAllowed) return;
  if (e.rule < 0) {
    *out += ",\"rule\":null";
    return;
  }
  *out += ",\"rule\":{\"index\":" + std::to_string(e.rule);
  field(out, "glob", e.glob);
  field(out, "line", e.line);
  *out += '}';
}

}  // namespace

const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::kPolicy: return "policy";
    case Kind::kLimit: return "limit";
    case Kind::kEscape: return "escape";
    case Kind::kStale: return "stale";
    case Kind::kAllowed: return "allowed";
  }
  return "unknown";
}

void append_json_string(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      *out += "\\u00";
      *out += kHex[c >> 4];
      *out += kHex[c & 0xf];
    } else {
      *out += static_cast<char>(c);
    }
  }
}

std::string format_time(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us % 1000000));
  return buf;
}

std::string format_event(const Event& e, std::string_view tenant,
                         std::chrono::system_clock::time_point now) {
  std::string out = "{\"time\":\"" + format_time(now) + '"';
  field(&out, "tenant", tenant);
  field(&out, "event", e.kind == Kind::kAllowed ? "allowed" : "denied");
  field(&out, "kind", kind_name(e.kind));
  field(&out, "op", e.op);
  field(&out, "path", e.path);
  if (!e.target.empty()) field(&out, "target", e.target);
  field(&out, "errno", e.code);
  field(&out, "error", e.code != 0 ? errno_name(e.code) : "");
  if (!e.access.empty()) field(&out, "access", e.access);
  append_rule(&out, e);
  if (!e.reason.empty()) field(&out, "reason", e.reason);
  field(&out, "pid", e.client.pid);
  field(&out, "uid", e.client.uid);
  field(&out, "gid", e.client.gid);
  out += "}\n";
  return out;
}

std::string format_suppressed(uint64_t count, std::string_view tenant,
                              std::chrono::system_clock::time_point now) {
  std::string out = "{\"time\":\"" + format_time(now) + '"';
  field(&out, "tenant", tenant);
  field(&out, "event", "suppressed");
  field(&out, "suppressed", static_cast<long long>(count));
  field(&out, "message", std::to_string(count) + " events suppressed");
  out += "}\n";
  return out;
}

}  // namespace confinefs::audit
