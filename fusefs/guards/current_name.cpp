#include "fusefs/guards/current_name.h"

#include <fcntl.h>
#include <sched.h>

#include "fusefs/mount/parking.h"
#include "fusefs/resolve/name.h"
#include "fusefs/sys/dir_stream.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::guards {
namespace {

// How many entries are looked through: a huge directory costs no more than a few getdents calls.
constexpr int kScanEntries = 2048;
// How many looks before ESTALE: an outside process exchanging two names in a loop can move the
// file between the listing and the look at the name, and ESTALE, retried once by the kernel,
// reaches the application when the retry loses the race too. A look costs a few microseconds;
// after the first two, each waits for the other threads to run (sched_yield), out of step with
// the exchanger.
constexpr int kLooks = 16;

bool is(const struct stat& st, const Node& node) {
  return st.st_dev == node.key().dev && st.st_ino == node.key().ino;
}

Result<struct stat> stat_at(Filesystem& fs, const Node& dir, const char* name) {
  auto n = Name::parse(name);
  if (!n) return n.error();
  return fs.resolver().stat_child(dir.handle(), n.value());
}

// One look: the recorded name, the kernel's own name for the inode, then the directory's entries
// with the node's inode number. The kernel's name matters under an outside exchange loop: a
// listing takes the directory's lock, which the exchanger waits for, so the look at a listed name
// that follows lands right after the next exchange, every time, and finds the other inode.
Result<CurrentName> look_once(Filesystem& fs, const Node& node, const NodeRef& parent,
                              const std::string& recorded) {
  if (auto st = stat_at(fs, *parent, recorded.c_str()); st && is(st.value(), node)) {
    return CurrentName{parent, recorded, st.value()};
  }
  // Never a name the mount does not show (a rename parked under mount/parking.h's prefix).
  if (auto name = fs.resolver().kernel_name(node.handle());
      name && *name != recorded && !is_parking_name(*name)) {
    if (auto st = stat_at(fs, *parent, name->c_str()); st && is(st.value(), node)) {
      return CurrentName{parent, std::move(name.value()), st.value()};
    }
  }
  auto fd = fs.resolver().reopen(parent->handle(), O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  sys::DirStream dir(std::move(fd.value()));
  for (int i = 0; i < kScanEntries; ++i, dir.consume()) {
    auto entry = dir.peek();
    if (!entry || !entry.value()) break;
    if (entry.value()->ino != node.key().ino || is_parking_name(entry.value()->name)) continue;
    // The entry's inode number is only a hint: the name is looked at again as any other.
    if (auto st = stat_at(fs, *parent, entry.value()->name); st && is(st.value(), node)) {
      return CurrentName{parent, entry.value()->name, st.value()};
    }
  }
  return Error{ESTALE};
}

}  // namespace

bool nameless(const Node& node) {
  auto st = sys::fstat(node.handle());
  return st && st->st_nlink == 0;
}

Result<CurrentName> current_name(Filesystem& fs, const Node& node) {
  auto [parent_id, recorded] = fs.nodes().location(node.id());
  NodeRef parent = fs.nodes().get(parent_id);
  if (!parent) return Error{ESTALE};
  for (int look = 0; look < kLooks; ++look) {
    if (auto found = look_once(fs, node, parent, recorded)) return found;
    if (nameless(node)) return Error{ENOENT};  // no name to find
    // Out of step with an exchanger that keeps landing between our look at a name and our
    // look at what it leads to.
    if (look >= 2) ::sched_yield();
  }
  return Error{ESTALE};
}

}  // namespace confinefs::guards
