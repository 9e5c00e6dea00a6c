#include "fusefs/ops/current_name.h"

#include <fcntl.h>

#include "fusefs/ops/common.h"
#include "fusefs/ops/dir_stream.h"
#include "fusefs/resolve/name.h"

namespace confinefs {
namespace {

// How many entries are looked through: a huge directory costs no more than a few getdents calls.
constexpr int kScanEntries = 2048;

bool is(const struct stat& st, const Node& node) {
  return st.st_dev == node.key().dev && st.st_ino == node.key().ino;
}

Result<struct stat> stat_at(Filesystem& fs, const Node& dir, const char* name) {
  auto n = Name::parse(name);
  if (!n) return n.error();
  return fs.resolver().stat_child(dir.handle(), n.value());
}

}  // namespace

Result<CurrentName> current_name(Filesystem& fs, const Node& node) {
  auto [parent_id, recorded] = fs.nodes().location(node.id());
  NodeRef parent = fs.nodes().get(parent_id);
  if (!parent) return Error{ESTALE};
  if (auto st = stat_at(fs, *parent, recorded.c_str()); st && is(st.value(), node)) {
    return CurrentName{std::move(recorded), st.value()};
  }
  auto fd = fs.resolver().reopen(parent->handle(), O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  DirStream dir(std::move(fd.value()));
  for (int i = 0; i < kScanEntries; ++i, dir.consume()) {
    auto entry = dir.peek();
    if (!entry || !entry.value()) break;
    if (entry.value()->ino != node.key().ino || ops::is_parking_name(entry.value()->name)) continue;
    // The entry's inode number is only a hint: the name is looked at again as any other.
    if (auto st = stat_at(fs, *parent, entry.value()->name); st && is(st.value(), node)) {
      return CurrentName{entry.value()->name, st.value()};
    }
  }
  return Error{ESTALE};
}

}  // namespace confinefs
