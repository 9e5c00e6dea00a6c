#include "cmd/takeover.h"

#include <sys/sysmacros.h>

#include <spdlog/spdlog.h>

#include <cstring>

#include "fusefs/nodes/node_table.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {
namespace {

// A stored fd that is not /dev/fuse is no connection (the supervisor handed back something else).
bool is_fuse_device(FdRef fd) {
  auto st = sys::fstat(fd);
  return st && S_ISCHR(st->st_mode) && major(st->st_rdev) == 10 && minor(st->st_rdev) == 229;
}

// The mount is live and ours, but its state is unusable: its sessions lose it.
Phase<std::optional<Takeover>> give_up(const MountPlace& place, const MountIdentity& ids,
                                       const std::string& why) {
  spdlog::error("cannot resume the mount at {}: {}; unmounting it, its sessions lose it",
                place.canonical(), why);
  unstore_all();
  if (auto ok = unmount_if(place, ids); !ok && ok.code() != ENOENT) {
    return Failure::runtime(with_errno("cannot unmount " + place.canonical(), ok.code()));
  }
  return std::optional<Takeover>{};
}

// A new store of name, handed to the supervisor: what a predecessor that kept none leaves.
Phase<> store_new(std::string_view name, FdRef fd) {
  if (auto ok = store(name, fd); !ok) {
    return Failure::runtime(with_errno(
        "resume=on: the supervisor did not take the " + std::string(name) + " fd", ok.code()));
  }
  return {};
}

// The passthrough counts: the predecessor's record, or, from a daemon whose node journal kept
// them (format 1), a new record of them.
Result<fuse::PassthroughRecord> passthrough_record(Fd stored, const NodeJournal& journal) {
  if (stored.valid()) return fuse::PassthroughRecord::adopt(std::move(stored));
  if (journal.format() != 1) return Error{ENOENT};
  auto record = fuse::PassthroughRecord::create(journal.capacity());
  if (!record) return record.error();
  for (const auto& c : journal.format1_opens()) {
    if (!record->write(c.node, {c.backing_id, c.passed_through, c.cached})) return Error{ENOSPC};
  }
  return record;
}

}  // namespace

Phase<std::optional<Takeover>> take_over(StoredState stored, const MountPlace& place,
                                         InodeKey backing_root) {
  if (!stored.any()) return std::optional<Takeover>{};
  if (!stored.channel.valid() || !stored.init.valid() || !is_fuse_device(stored.channel.ref())) {
    spdlog::warn("the fd store holds no complete connection; starting afresh");
    unstore_all();
    return std::optional<Takeover>{};
  }
  auto connection = fuse::ConnectionRecord::replay(std::move(stored.init));
  MountIdentity here = mount_identity_at(place);
  if (connection) {
    auto ids = connection->mount();
    if (here.id == 0 || here.id != ids.id || here.unique_id != ids.unique_id) {
      spdlog::warn("the stored connection's mount is no longer at {}; starting afresh",
                   place.canonical());
      unstore_all();
      return std::optional<Takeover>{};
    }
  }
  if (!connection) {
    return give_up(place, here, with_errno("its connection record", connection.code()));
  }
  if (!stored.nodes.valid()) return give_up(place, here, "no node journal was stored");
  auto journal = NodeJournal::adopt(std::move(stored.nodes), backing_root);
  if (!journal) {
    return give_up(place, here,
                   journal.code() == ESTALE ? "its node journal is for another BACKING"
                                            : with_errno("its node journal", journal.code()));
  }
  const bool had_passthrough = stored.passthrough.valid();
  auto passthrough = passthrough_record(std::move(stored.passthrough), *journal.value());
  if (!passthrough) {
    return give_up(place, here,
                   passthrough.code() == ENOENT
                       ? "no passthrough record was stored"
                       : with_errno("its passthrough record", passthrough.code()));
  }
  if (!had_passthrough) {
    if (auto ok = store_new(kStoredPassthrough, passthrough->fd()); !ok) return ok.error();
  }
  // Kept by daemons since requests are resent: a predecessor without one began nothing to decide.
  // A log kept for another connection (its unique ids mean nothing here) is replaced.
  const AttemptLog::Connection ids{connection->mount().id, connection->mount().unique_id};
  bool fresh_log = false;
  auto attempts = [&]() -> Result<AttemptLog> {
    if (stored.requests.valid()) {
      auto adopted = AttemptLog::adopt(std::move(stored.requests), ids);
      if (adopted || adopted.code() != ESTALE) return adopted;
    }
    fresh_log = true;
    return AttemptLog::create(ids);
  }();
  if (!attempts) {
    return give_up(place, here, with_errno("its request log", attempts.code()));
  }
  if (fresh_log) {
    if (auto ok = store_new(kStoredRequests, attempts->fd()); !ok) return ok.error();
  }
  // Kept by daemons since the FIFO and socket log: a predecessor without one made none to keep.
  Fd objects = std::move(stored.objects);
  if (!objects.valid()) {
    auto fresh = sys::memfd("confinefs-objects");
    if (!fresh) return Failure::runtime(with_errno("resume=on: objects log", fresh.code()));
    if (auto ok = store_new(kStoredObjects, fresh->ref()); !ok) return ok.error();
    objects = std::move(fresh.value());
  }
  return std::optional<Takeover>{Takeover{
      std::move(stored.channel),
      KeptState{std::move(journal.value()), std::move(connection.value()), std::move(objects),
                std::move(passthrough.value()), std::move(attempts.value())}}};
}

Phase<KeptState> keep_for_successor(FdRef channel, const MountIdentity& mount,
                                    InodeKey backing_root, size_t max_nodes) {
  auto journal = NodeJournal::create(reserve_limit(max_nodes), backing_root);
  if (!journal) return Failure::runtime(with_errno("resume=on: node journal", journal.code()));
  auto connection = fuse::ConnectionRecord::record();
  if (!connection) {
    return Failure::runtime(with_errno("resume=on: connection record", connection.code()));
  }
  if (auto ok = connection->record_mount({mount.id, mount.unique_id}); !ok) {
    return Failure::runtime(with_errno("resume=on: connection record", ok.code()));
  }
  auto objects = sys::memfd("confinefs-objects");
  if (!objects) return Failure::runtime(with_errno("resume=on: objects log", objects.code()));
  auto passthrough = fuse::PassthroughRecord::create(reserve_limit(max_nodes));
  if (!passthrough) {
    return Failure::runtime(with_errno("resume=on: passthrough record", passthrough.code()));
  }
  auto attempts = AttemptLog::create({mount.id, mount.unique_id});
  if (!attempts) return Failure::runtime(with_errno("resume=on: request log", attempts.code()));
  for (auto [name, fd] : {std::pair{kStoredChannel, channel},
                          {kStoredNodes, journal.value()->fd()},
                          {kStoredInit, connection->fd()},
                          {kStoredObjects, objects->ref()},
                          {kStoredPassthrough, passthrough->fd()},
                          {kStoredRequests, attempts->fd()}}) {
    if (auto ok = store(name, fd); !ok) {
      unstore_all();
      return Failure::runtime(with_errno(
          "resume=on: the supervisor did not take the " + std::string(name) + " fd", ok.code()));
    }
  }
  return KeptState{std::move(journal.value()), std::move(connection.value()),
                   std::move(objects.value()), std::move(passthrough.value()),
                   std::move(attempts.value())};
}

}  // namespace confinefs::cmd
