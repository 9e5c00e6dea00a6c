// Entering a request: the only way an operation obtains what it acts on. The kernel's id becomes
// a node this daemon serves here, once (a predecessor's id is resumed here and nowhere else:
// ops/resume.cpp), the client's name becomes a Name (hostile names refused: threats 2, 16), the
// policy's gate is passed, and the request's site is recorded for the audit point
// (guards/audit.h). Steps after this take the values, never an id (tests/unit/layers.py).
#pragma once

#include <cstdint>
#include <optional>

#include "fusefs/guards/gate.h"
#include "fusefs/mount/request.h"

namespace confinefs::ops {

// A node operation's subject: ESTALE when the kernel's id names nothing served or resumable
// (forgotten, or its record no longer holds). Gated for intent; nullopt: the operation decides
// later itself, or acts on no content (statfs).
Result<NodeRef> enter(const Request& r, uint64_t id, std::optional<guards::Intent> intent);

// A name operation's subject: the directory (ENOTDIR unless it is one), the name, gated for
// intent (nullopt: a lookup, which decides once it has resolved the name: guards::confirm_lookup).
// site: which of the request's sites it is (1: a rename's destination).
Result<guards::Place> enter(const Request& r, uint64_t dir, const char* name,
                            std::optional<guards::Intent> intent, unsigned site = 0);

// e, as concerning the request's site `site` (1: a rename's destination) for the audit point.
Error at_site(Error e, unsigned site);

// An open file's node as the request's site: write, fallocate and copy_file_range act on an fd
// verified at its open, and their limits are audited there.
void enter(const Request& r, const Node& file);

// A predecessor's node id, resumed: its recorded place is looked up again from the nearest node
// served here, one component at a time, with every check of a fresh lookup, and the id is served
// again only when that finds the very same inode and type (threat 41). ESTALE otherwise, for good.
Result<NodeRef> resume(const Request& r, uint64_t id);

}  // namespace confinefs::ops
