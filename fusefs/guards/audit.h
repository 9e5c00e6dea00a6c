// The audit point: every refusal a request meets becomes one audit line and one counter here, and
// nowhere else. Guards and the resolver decide and return an Error that says it is a refusal
// (Refusal, result.h); the request keeps where it acts (Request::sites) and what a guard decided
// (Request::denial). ops/outcome.h passes every result that leaves the operations layer through
// audit(), so an operation can neither forget a refusal's line nor write it twice.
#pragma once

#include <string>
#include <string_view>

#include "fusefs/mount/request.h"

namespace confinefs::guards {

// Writes e's line when it is a refusal: an escape-like refusal (threats 1-10: a planted or raced
// link, special file, mount, hardlink, swap, hostile name) named at the request's site, or the
// request's Verdict. Anything else (plain errors) writes nothing.
void audit(const Request& r, const Error& e);
// A request that succeeded: the lines of the decisions that allowed its changes, if kept.
void audit_allowed(const Request& r);

// A refusal decided outside the rules (limits, chown, xattr namespaces, link creation): code,
// audited as the limit `reason` (a literal) at the request's site.
Error over_limit(const Request& r, int code, std::string_view reason);
// A refusal decided by the rules (or the mount-wide mode): code, audited at path with the access
// decided and the rule (-1: the mode); target: a rename's destination.
Error denied(const Request& r, std::string path, std::string_view access, int rule, int code,
             std::string target = {});
// e (an escape-like refusal), audited at path rather than at the request's site: a resumed
// record's place (ops/resume.cpp), which no site names.
Error refused_at(const Request& r, const Error& e, std::string path);
// ESTALE, audited as stale at path (the node's last known one): the name the kernel cached no
// longer leads to the node.
Error stale(const Request& r, std::string path);
// An allowed mutation (audit.log_allowed_mutations), kept for audit_allowed(): written once the
// request succeeded.
void allowed(const Request& r, const std::string& path, std::string_view access, int rule);

// The virtual path of the request's site `index` (Site: directory and name, or node).
std::string site_path(const Request& r, unsigned index = 0);

}  // namespace confinefs::guards
