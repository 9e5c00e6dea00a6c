#include "fusefs/ops/enter.h"

#include "fusefs/mount/parking.h"
#include "fusefs/ops/common.h"

namespace confinefs::ops {
namespace {

Result<NodeRef> node_of(const Request& r, uint64_t id) {
  if (NodeRef node = r.fs.nodes().get(id)) return node;
  return resume(r, id);
}

// The client's name, refused (audited) when it is not one plain component or is one of the
// names the daemon parks entries under (mount/parking.h).
Result<Name> client_name(const Request& r, const char* name, unsigned site) {
  auto parsed = Name::parse(name);
  if (!parsed) return parsed.error();
  r.sites[site].name = parsed->view();
  if (is_parking_name(parsed->view())) return Error{EACCES, Refusal::kHostileName, 0};
  return parsed;
}

}  // namespace

Result<NodeRef> enter(const Request& r, uint64_t id, std::optional<guards::Intent> intent) {
  auto node = node_of(r, id);
  r.sites[0] = Site{id, {}};
  if (!node) return node.error();
  if (intent) {
    if (auto ok = guards::gate(r, *node.value(), *intent); !ok) return ok.error();
  }
  return node;
}

Result<guards::Place> enter(const Request& r, uint64_t dir, const char* name,
                            std::optional<guards::Intent> intent, unsigned site) {
  // Resuming dir enters its recorded place (ops/resume.cpp), which names the first site: a
  // rename's destination must leave its source's site as it was.
  const Site first = r.sites[0];
  auto node = node_of(r, dir);
  if (site != 0) r.sites[0] = first;
  r.sites[site] = Site{dir, {}};
  if (!node) return node.error();
  if (!node.value()->is_dir()) return Error{ENOTDIR};
  auto parsed = client_name(r, name, site);
  if (!parsed) return at_site(parsed.error(), site);
  guards::Place place{std::move(node.value()), parsed.value(), std::nullopt};
  if (intent) {
    auto decided = guards::gate_name(r, *place.dir, place.name, *intent);
    if (!decided) return at_site(decided.error(), site);
    place.dir_path = std::move(decided.value());
  }
  return place;
}

Error at_site(Error e, unsigned site) {
  e.subject = static_cast<unsigned char>(site);
  return e;
}

void enter(const Request& r, const Node& file) { r.sites[0] = Site{file.id(), {}}; }

}  // namespace confinefs::ops
