#include "fusefs/guards/audit.h"

#include <spdlog/spdlog.h>

#include "fusefs/audit/escape.h"
#include "fusefs/audit/log_limit.h"

namespace confinefs::guards {
namespace {

std::string join(std::string path, std::string_view child) {
  if (child.empty()) return path;
  if (path.size() > 1) path += '/';
  path += child;
  return path;
}

audit::Event event(const Request& r, audit::Kind kind, std::string_view path, int code) {
  audit::Event e;
  e.kind = kind;
  e.op = r.op_name();
  e.path = path;
  e.code = code;
  e.client = r.client();
  return e;
}

void record(const Request& r, audit::Event e) {
  const policy::Policy& pol = *r.policy;
  if (e.rule >= 0 && static_cast<size_t>(e.rule) < pol.rules().size()) {
    e.glob = pol.rules()[e.rule].glob;
    e.line = pol.rules()[e.rule].line;
  }
  r.fs.audit().record(e, pol.tenant());
}

void escape(const Request& r, const Error& error) {
  r.fs.counters().refusals.fetch_add(1, std::memory_order_relaxed);
  bool placed = r.denial && r.denial->kind == audit::Kind::kEscape;
  std::string where = placed ? r.denial->path : site_path(r, error.subject);
  if (audit::admit_log_line()) {
    spdlog::warn("refused op={} tenant={} path={} reason={} errno={}", r.op_name(),
                 r.policy->tenant(), audit::escape_for_log(where), refusal_name(error.refusal),
                 error.code);
  }
  audit::Event e = event(r, audit::Kind::kEscape, where, error.code);
  e.reason = refusal_name(error.refusal);
  record(r, e);
}

// The audit event of verdict d at path (code: the errno answered, 0 for kAllowed).
audit::Event event_of(const Request& r, const Verdict& d, std::string_view path, int code) {
  audit::Event e = event(r, d.kind, path, code);
  e.access = d.access;
  e.rule = d.rule;
  e.reason = d.reason;
  e.target = d.target;
  return e;
}

void log_denial(const Request& r, const Verdict& d, const std::string& where, int code) {
  if (d.kind == audit::Kind::kStale) {
    spdlog::debug("stale op={} path={}: the name no longer leads to the node", r.op_name(),
                  audit::escape_for_log(where));
    return;
  }
  r.fs.counters().denials.fetch_add(1, std::memory_order_relaxed);
  if (!audit::admit_log_line()) return;
  if (d.kind == audit::Kind::kLimit) {
    spdlog::info("denied op={} tenant={} path={} limit={} errno={}", r.op_name(),
                 r.policy->tenant(), audit::escape_for_log(where), d.reason, code);
  } else {
    spdlog::info("denied op={} tenant={} path={} access={} rule={} errno={} pid={} uid={}",
                 r.op_name(), r.policy->tenant(), audit::escape_for_log(where), d.access, d.rule,
                 code, r.caller.pid, r.caller.uid);
  }
}

void decided(const Request& r, const Verdict& d, const Error& error) {
  std::string where = d.kind == audit::Kind::kLimit ? site_path(r, error.subject) : d.path;
  log_denial(r, d, where, error.code);
  record(r, event_of(r, d, where, error.code));
}

Error keep(const Request& r, Verdict d, int code) {
  r.denial = std::move(d);
  return Error{code, Refusal::kDenied};
}

Verdict verdict(audit::Kind kind, std::string path = {}) {
  Verdict d;
  d.kind = kind;
  d.path = std::move(path);
  return d;
}

}  // namespace

void audit(const Request& r, const Error& e) {
  if (e.refusal == Refusal::kNone) return;
  if (e.refusal != Refusal::kDenied) {
    escape(r, e);
  } else if (r.denial) {  // a kDenied error comes with its Verdict (keep()): one line each
    decided(r, *r.denial, e);
  }
  r.denial.reset();
  r.allowed.clear();  // refused: nothing it was allowed to do happened
}

Error refused_at(const Request& r, const Error& e, std::string path) {
  r.denial = verdict(audit::Kind::kEscape, std::move(path));
  return e;
}

Error over_limit(const Request& r, int code, std::string_view reason) {
  Verdict d = verdict(audit::Kind::kLimit);
  d.reason = reason;
  return keep(r, std::move(d), code);
}

Error denied(const Request& r, std::string path, std::string_view access, int rule, int code,
             std::string target) {
  Verdict d = verdict(audit::Kind::kPolicy, std::move(path));
  d.target = std::move(target);
  d.access = access;
  d.rule = rule;
  return keep(r, std::move(d), code);
}

Error stale(const Request& r, std::string path) {
  return keep(r, verdict(audit::Kind::kStale, std::move(path)), ESTALE);
}

void allowed(const Request& r, const std::string& path, std::string_view access, int rule) {
  if (!r.fs.audit().log_allowed_mutations()) return;
  Verdict d = verdict(audit::Kind::kAllowed, path);
  d.access = access;
  d.rule = rule;
  r.allowed.push_back(std::move(d));
}

void audit_allowed(const Request& r) {
  for (const Verdict& d : r.allowed) record(r, event_of(r, d, d.path, 0));
  r.allowed.clear();
}

std::string site_path(const Request& r, unsigned index) {
  const Site& site = r.sites[index < r.sites.size() ? index : 0];
  return join(r.fs.nodes().virtual_path(site.node), site.name);
}

}  // namespace confinefs::guards
