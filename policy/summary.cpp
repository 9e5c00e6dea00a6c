#include "policy/summary.h"

#include <cstdio>
#include <sstream>

#include "policy/size.h"

namespace confinefs::policy {
namespace {

// YAML double-quoted scalar, so any path or name reads back unchanged.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void put_rules(std::ostream& out, const Policy& p) {
  if (!p.has_rules()) {
    out << "rules: []\n";
    return;
  }
  out << "rules:  # nearest match wins, then most specific, then first listed\n";
  for (size_t i = 0; i < p.rules().size(); ++i) {
    const Rule& r = p.rules()[i];
    const Glob& g = p.globs()[i];
    const Specificity& s = g.specificity();
    out << "  - path: " << quote(g.normalized()) << "\n";
    out << "    access: " << access_name(r.access) << "  # rules[" << i << "]";
    if (r.line > 0) out << ", line " << r.line;
    out << ", specificity " << s.literal_components << "." << s.fixed_components << "."
        << s.literal_chars;
    if (g.normalized() != r.glob) out << ", written " << quote(r.glob);
    if (r.access < p.mode()) out << ", no effect: mode is " << access_name(p.mode());
    out << "\n";
  }
}

void put_size(std::ostream& out, const char* key, const std::optional<uint64_t>& v) {
  if (v) {
    out << "  " << key << ": " << *v << "  # " << describe_size(*v) << "\n";
  } else {
    out << "  # " << key << ": unlimited\n";
  }
}

void put_count(std::ostream& out, const char* key, std::optional<uint64_t> v) {
  if (v) {
    out << "  " << key << ": " << *v << "\n";
  } else {
    out << "  # " << key << ": unlimited\n";
  }
}

void put_limits(std::ostream& out, const Limits& l) {
  bool any = l.max_file_size || l.quota_bytes || l.quota_inodes || l.max_name_length;
  out << (any ? "limits:\n" : "limits: {}\n");
  put_size(out, "max_file_size", l.max_file_size);
  put_size(out, "quota_bytes", l.quota_bytes);
  put_count(out, "quota_inodes", l.quota_inodes);
  put_count(out, "max_name_length", l.max_name_length);
}

void put_create_and_xattrs(std::ostream& out, const Policy& p) {
  char umask[8];
  std::snprintf(umask, sizeof umask, "%04o", p.create().umask);
  out << "create:\n  umask: \"" << umask << "\"\n";
  out << "  allow_chown: " << (p.create().allow_chown ? "true" : "false") << "\n";
  out << "xattrs:\n  namespaces: [";
  const char* sep = "";
  if (p.xattr_namespaces() & kXattrUser) out << sep << "user", sep = ", ";
  if (p.xattr_namespaces() & kXattrSystem) out << sep << "system";
  out << "]\n";
}

void put_audit(std::ostream& out, const AuditOptions& a) {
  out << "audit:\n  sink: ";
  switch (a.sink) {
    case AuditSink::kStderr: out << "stderr"; break;
    case AuditSink::kJournald: out << "journald"; break;
    case AuditSink::kFile: out << quote(a.file); break;
  }
  out << "\n  log_allowed_mutations: " << (a.log_allowed_mutations ? "true" : "false") << "\n";
}

void put_path(std::ostream& out, const char* key, const std::optional<std::string>& v) {
  if (v) {
    out << key << ": " << quote(*v) << "\n";
  } else {
    out << "# " << key << ": unset\n";
  }
}

}  // namespace

std::string summarize(const Policy& p) {
  std::ostringstream out;
  out << "# confinefs policy, normalized: every default filled in\n";
  out << "version: 1\n";
  out << "tenant: " << quote(p.tenant()) << "\n";
  out << "mode: " << access_name(p.mode()) << "\n";
  out << "hardlinks: " << hardlink_mode_name(p.hardlinks()) << "\n";
  out << "links: " << link_mode_name(p.objects().links) << "\n";
  out << "fifos: " << object_mode_name(p.objects().fifos) << "\n";
  out << "sockets: " << object_mode_name(p.objects().sockets) << "\n";
  put_rules(out, p);
  put_limits(out, p.limits());
  put_create_and_xattrs(out, p);
  put_audit(out, p.audit());
  put_path(out, "backing", p.backing());
  put_path(out, "mountpoint", p.mountpoint());
  return out.str();
}

}  // namespace confinefs::policy
