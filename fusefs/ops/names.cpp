// Namespace changes: unlink, rename, mknod, and the refused symlink()/link().
// Threat (threats.md #1, #10, #15): names are removed or moved with *at() calls between held
// parent fds; the kernel never follows a link at either end of a rename. Names the mount does not
// show (host symlinks, special files, mounts) cannot be removed, replaced or renamed onto.
#include <fcntl.h>
#include <linux/fs.h>

#include <spdlog/spdlog.h>

#include "fusefs/ops/common.h"
#include "fusefs/ops/credentials.h"
#include "fusefs/ops/gate.h"
#include "fusefs/ops/log_escape.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

constexpr unsigned kKnownRenameFlags = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;

// State of a rename's target name: absent, a visible entry, or refused (never overwritten).
Result<std::optional<struct stat>> target_state(Filesystem& fs, const Node& dir, const Name& name) {
  auto st = fs.resolver().stat_child(dir.handle(), name);
  if (st) return std::optional<struct stat>(st.value());
  if (st.code() == ENOENT && st.error().refusal == Refusal::kNone) {
    return std::optional<struct stat>();
  }
  if (st.error().refusal != Refusal::kNone) return Error{EACCES, st.error().refusal};
  return st.error();
}

void record_move(Filesystem& fs, const struct stat& st, uint64_t parent, const Name& name) {
  fs.nodes().moved(InodeKey{st.st_dev, st.st_ino}, parent, name.view());
}

}  // namespace

Result<void> unlink(Filesystem& fs, const Caller& c, uint64_t parent, const char* name) {
  auto dir = dir_of(fs, parent);
  if (!dir) return dir.error();
  auto n = client_name(fs, "unlink", parent, name);
  if (!n) return n.error();
  if (auto ok = gate(fs, c, "unlink", parent, &n.value(), Intent::kModify); !ok) return ok.error();
  auto st = fs.resolver().stat_child(dir.value()->handle(), n.value());
  if (!st) return fs.refuse("unlink", parent, n->view(), st.error());
  if (S_ISDIR(st->st_mode)) return Error{EISDIR};
  return fs.resolver().remove(dir.value()->handle(), n.value(), false);
}

Result<void> rename(Filesystem& fs, const Caller& c, uint64_t parent, const char* name,
                    uint64_t new_parent, const char* new_name, unsigned flags) {
  if ((flags & ~kKnownRenameFlags) || (flags & RENAME_WHITEOUT)) return Error{EINVAL};
  auto from_dir = dir_of(fs, parent);
  if (!from_dir) return from_dir.error();
  auto to_dir = dir_of(fs, new_parent);
  if (!to_dir) return to_dir.error();
  auto from = client_name(fs, "rename", parent, name);
  if (!from) return from.error();
  auto to = client_name(fs, "rename", new_parent, new_name);
  if (!to) return to.error();
  if (auto ok = gate(fs, c, "rename", parent, &from.value(), Intent::kModify); !ok) {
    return ok.error();
  }
  if (auto ok = gate(fs, c, "rename", new_parent, &to.value(), Intent::kCreate); !ok) {
    return ok.error();
  }

  auto source = fs.resolver().stat_child(from_dir.value()->handle(), from.value());
  if (!source) return fs.refuse("rename", parent, from->view(), source.error());
  auto target = target_state(fs, *to_dir.value(), to.value());
  if (!target) return fs.refuse("rename", new_parent, to->view(), target.error());

  auto moved = fs.resolver().rename(from_dir.value()->handle(), from.value(),
                                    to_dir.value()->handle(), to.value(), flags);
  if (!moved) return moved;
  record_move(fs, source.value(), new_parent, to.value());
  if ((flags & RENAME_EXCHANGE) && target->has_value()) {
    record_move(fs, target->value(), parent, from.value());
  }
  return {};
}

Result<Entry> mknod(Filesystem& fs, const Caller& c, uint64_t parent, const char* name,
                    mode_t mode) {
  // Threat #10: only regular files can be made through the mount.
  if ((mode & S_IFMT) != 0 && !S_ISREG(mode)) return Error{EPERM};
  auto made = create(fs, c, parent, name, mode & 07777, O_WRONLY | O_EXCL);
  if (!made) return made.error();
  release(made->file);
  return made->entry;
}

Result<void> refuse_link_creation(Filesystem& fs, const Caller& c, const char* op,
                                  uint64_t parent, const char* name) {
  // Threat #3, #5: a symlink made here would be followed by whoever reads the host directory, and
  // a hardlink would give an inode a second name; neither is ever created.
  auto n = client_name(fs, op, parent, name);
  if (!n) return n.error();
  fs.counters().denials.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("denied op={} tenant={} parent={} name={} errno={} pid={} uid={}", op,
               fs.policy()->tenant(), parent, escape_for_log(n->view()), EPERM, c.pid, c.uid);
  return Error{EPERM};
}

}  // namespace confinefs::ops
