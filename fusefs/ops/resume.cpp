// Resuming the nodes a predecessor daemon handed to the kernel (nodes/node_journal.h): after a
// crash or a restart, the kernel still holds their ids (working directories, open directories,
// cached names), and its next request on one arrives here.
// Threat 41 (a resumed daemon trusts stale state): a record only says where to look. The place
// is looked up again exactly as a fresh LOOKUP would be (ops::lookup: the resolver's one-component
// openat2, the policy's gate, the containment and link checks), from the nearest node this daemon
// serves, and the id is served again only when that lookup lands on the record's own id, which
// the node table hands out only for the same (dev, ino) and type. Anything else (another inode,
// another type, a symlink, another mount, a name moved out of BACKING) drops the record: the
// kernel's requests on that id then get ESTALE until it forgets it. Never a guess.
#include "fusefs/guards/audit.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"

namespace confinefs::ops {
namespace {

// Errors that say nothing about the record: the lookup may succeed later.
bool transient(int code) {
  return code == ENFILE || code == EMFILE || code == ENOMEM || code == EINTR || code == EAGAIN;
}

// One record, looked up again at its place; its parent is served already.
Result<void> resume_one(const Request& r, uint64_t id) {
  NodeTable& nodes = r.fs.nodes();
  auto place = nodes.recorded_at(id);
  if (!place) return nodes.get(id) ? Result<void>{} : Result<void>{Error{ESTALE}};
  // Entered and looked up as a LOOKUP would be; its refusals count as this one's below.
  auto parent = enter(r, place->first, place->second.c_str(), std::nullopt);
  auto entry = parent ? look_up(r, parent.value(), false) : Result<Entry>(parent.error());
  if (entry && entry->id == id) return {};
  if (!entry && transient(entry.code())) return entry.error();
  if (entry) nodes.forget(entry->id, 1);  // a node the kernel never hears of
  nodes.drop_recorded(id);
  if (nodes.get(id)) return {};  // another request resumed it meanwhile
  // The policy refuses the place now (a reload hid it): its own answer and audit line.
  if (!entry && entry.error().refusal == Refusal::kDenied) return entry.error();
  std::string where = guards::site_path(r);
  return guards::refused_at(r, Error{ESTALE, Refusal::kIdentityMismatch}, std::move(where));
}

}  // namespace

Result<NodeRef> resume(const Request& r, uint64_t id) {
  NodeTable& nodes = r.fs.nodes();
  // The records from id up to the nearest node served here; a chain longer than the records
  // there are would be a cycle.
  std::vector<uint64_t> chain;
  size_t limit = nodes.recorded_count();
  for (uint64_t at = id; !nodes.get(at);) {
    auto place = nodes.recorded_at(at);
    if (!place && nodes.get(at)) break;  // another request served it meanwhile
    if (!place || chain.size() > limit) return Error{ESTALE};
    chain.push_back(at);
    at = place->first;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (auto ok = resume_one(r, *it); !ok) return ok.error();
  }
  if (NodeRef node = nodes.get(id)) return node;
  return Error{ESTALE};
}

}  // namespace confinefs::ops
