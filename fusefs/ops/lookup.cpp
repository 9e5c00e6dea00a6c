// lookup, forget, getattr, statfs: resolving names into nodes and reporting attributes.
#include <algorithm>

#include "fusefs/guards/gate.h"
#include "fusefs/objects/marker.h"
#include "fusefs/ops/common.h"
#include "fusefs/ops/enter.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

uint64_t left(uint64_t limit, uint64_t used) { return used < limit ? limit - used : 0; }

// statfs through the mount shows the quota as the filesystem's size: the client's df and free
// space checks then see what it may still write, never more than the host has free.
struct statvfs with_quota(struct statvfs st, const policy::Limits& limits, UsageTotals used) {
  if (limits.quota_bytes && st.f_frsize > 0) {
    fsblkcnt_t free_blocks = left(*limits.quota_bytes, used.bytes) / st.f_frsize;
    st.f_blocks = *limits.quota_bytes / st.f_frsize;
    st.f_bfree = std::min(st.f_bfree, free_blocks);
    st.f_bavail = std::min(st.f_bavail, free_blocks);
  }
  if (limits.quota_inodes) {
    fsfilcnt_t free_files = left(*limits.quota_inodes, used.inodes);
    st.f_files = *limits.quota_inodes;
    st.f_ffree = std::min(st.f_ffree, free_files);
    st.f_favail = std::min(st.f_favail, free_files);
  }
  return st;
}

}  // namespace

Result<Entry> look_up(const Request& r, const guards::Place& place, bool parent_inside) {
  Filesystem& fs = r.fs;
  if (auto ok = guards::refuse_before_lookup(r, place); !ok) return ok.error();
  auto found = fs.resolver().lookup(place.dir->handle(), place.name);
  // Decided after the resolution, whatever it found: one walk of the directory's chain.
  if (auto ok = guards::confirm_lookup(r, place, found ? &found->attr : nullptr, parent_inside);
      !ok) {
    return ok.error();
  }
  if (!found) return found.error();
  auto kind = kind_of(r, *place.dir, place.name, found.value());
  if (!kind) return kind.error();
  return remember(r, place, std::move(found.value()), kind.value());
}

Outcome<Entry> lookup(const Request& r, uint64_t parent, const char* name) {
  auto place = enter(r, parent, name, std::nullopt);
  if (!place) return refused<Entry>(r, place.error());
  return answer(r, look_up(r, place.value(), false));
}

Outcome<Entry> lookup_listed(const Request& r, uint64_t parent, const char* name) {
  auto place = enter(r, parent, name, std::nullopt);
  if (!place) return refused<Entry>(r, place.error());
  return answer(r, look_up(r, place.value(), true));
}

void forget(const Request& r, uint64_t node, uint64_t count) { r.fs.nodes().forget(node, count); }

namespace {

Result<struct stat> attributes_of(const Request& r, const Node& node) {
  if (auto ok = guards::inside(r, node); !ok) return ok.error();
  // The O_PATH handle pins the inode, so this reports the node's own attributes even when an
  // outside process renamed or replaced its name.
  auto attr = r.fs.resolver().stat_handle(node.handle());
  if (!attr) return attr.error();
  node.saw_link_count(attr->st_nlink);
  return shown(r.fs, node.type(), attr.value());
}

}  // namespace

Outcome<struct stat> getattr(const Request& r, uint64_t id) {
  auto node = enter(r, id, guards::Intent::kSee);
  if (!node) return refused<struct stat>(r, node.error());
  return answer(r, attributes_of(r, *node.value()));
}

Outcome<struct statvfs> statfs(const Request& r, uint64_t id) {
  auto node = enter(r, id, std::nullopt);
  if (!node) return refused<struct statvfs>(r, node.error());
  auto host = sys::fstatvfs(node.value()->handle());
  if (!host) return answer(r, std::move(host));
  return answer(r, Result<struct statvfs>(
                       with_quota(host.value(), r.policy->limits(), r.fs.usage().totals())));
}

}  // namespace confinefs::ops
