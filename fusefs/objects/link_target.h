// What a link target asks of the tree, decided lexically and fail-closed.
// Threat (a link made through the mount sends another client's I/O out of its mount): the kernel
// of whoever follows the link resolves the target from the link's directory in that client's own
// view. A target that is absolute, or climbs above the mount root, leads outside; so does a `..`
// after a name, since the kernel climbs from wherever that name leads (it may be a link itself).
// Only targets made of leading `..` components and then plain names are served, and only while
// the link sits at least `climb` levels below the root (nodes/node_table.h keeps that true).
#pragma once

#include <string_view>

#include "fusefs/result.h"

namespace confinefs::objects {

// A target the mount may serve: it climbs `climb` directories above the link's own directory,
// then only descends.
struct LinkTarget {
  unsigned climb = 0;
};

// Longest target stored or served (the kernel's own limit for a symlink body, without the NUL).
constexpr size_t kMaxLinkTarget = 4095;

// EPERM (Refusal::kLinkEscape) for absolute targets and `..` after a name, ENOENT for an empty
// target, ENAMETOOLONG past kMaxLinkTarget, EPERM (Refusal::kHostileName) for NUL or control
// characters. A component past NAME_MAX is stored as natively: following it fails then.
Result<LinkTarget> parse_link_target(std::string_view target);

}  // namespace confinefs::objects
