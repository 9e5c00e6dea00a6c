#include "fusefs/ops/replay.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "fusefs/guards/audit.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::ops {
namespace {

// How long before the recorded start of a create an inode it made may say it changed: ctime is
// taken from the kernel's coarse clock, up to a tick behind the one the record read.
constexpr int64_t kClockSlackNs = 20'000'000;

int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// The recorded answer of a change that was made or refused.
Result<Fate> recorded(const Attempt& past) {
  if (past.result < 0) return Error{static_cast<int>(-past.result)};
  return Fate::kHappened;
}

Error undecided() { return Error{EIO, Refusal::kUndecided}; }

// Whether the inode at place, which was not there before, is the one the predecessor's create
// made: of the type asked for, the caller's, and changed no earlier than the create began.
bool made_by_request(const Request& r, const guards::Place& place, NodeType type) {
  auto st = r.fs.resolver().stat_child(place.dir->handle(), place.name);
  if (!st) return false;
  bool dir = type == NodeType::kDirectory;
  if (dir != S_ISDIR(st->st_mode) || (!dir && !S_ISREG(st->st_mode))) return false;
  uid_t owner = r.fs.config().caller_credentials ? r.caller.uid : ::geteuid();
  int64_t changed = int64_t{st->st_ctim.tv_sec} * 1'000'000'000 + st->st_ctim.tv_nsec;
  return st->st_uid == owner && changed + kClockSlackNs >= r.past->begun_ns;
}

}  // namespace

Attempt change_of(const Request& r) {
  Attempt a;
  a.op = static_cast<uint32_t>(r.op);
  a.begun_ns = now_ns();
  return a;
}

void begin_change(const Request& r, const Attempt& attempt) {
  AttemptLog* log = r.fs.attempts();
  if (log == nullptr || r.unique == 0) return;
  r.began = log->begin(r.unique, attempt);
}

void record_end(const Request& r, int64_t result, std::optional<InodeKey> made) {
  if (AttemptLog* log = r.fs.attempts()) log->done(r.unique, result, made);
}

void begin_removal(const Request& r, const struct stat& st) {
  Attempt attempt = change_of(r);
  attempt.before[0] = key_of(st);
  begin_change(r, attempt);
}

void begin_attribute_change(const Request& r, FdRef fd, const char* name) {
  if (r.fs.attempts() == nullptr || r.unique == 0) return;
  Attempt attempt = change_of(r);
  attempt.existed = sys::fgetxattr(fd, name, nullptr, 0).ok();
  begin_change(r, attempt);
}

void begin_size_change(const Request& r, const OpenFile& file) {
  if (r.fs.attempts() == nullptr || r.unique == 0) return;
  auto st = sys::fstat(file.fd.ref());
  if (!st) return;  // unrecorded: a crash now leaves it undecidable
  Attempt attempt = change_of(r);
  attempt.size_before = st->st_size;
  begin_change(r, attempt);
}

Result<std::optional<InodeKey>> identity_at(const Request& r, const guards::Place& place) {
  auto st = r.fs.resolver().stat_child(place.dir->handle(), place.name);
  if (!st) {
    if (st.code() == ENOENT) return std::optional<InodeKey>{};
    return st.error();
  }
  return std::optional<InodeKey>{key_of(st.value())};
}

Result<Fate> removal_fate(const Request& r, const guards::Place& place) {
  if (!r.past) return Fate::kServe;
  if (r.past->done) return recorded(*r.past);
  auto now = identity_at(r, place);
  if (!now) return now.error();
  // Still there: not removed yet. Gone (or another inode in its place): the removal happened.
  return now.value() == r.past->before[0] ? Fate::kServe : Fate::kHappened;
}

Result<Fate> rename_fate(const Request& r, const guards::Place& from, const guards::Place& to,
                         unsigned flags) {
  if (!r.past) return Fate::kServe;
  if (r.past->done) return recorded(*r.past);
  // An entry a checked move parked (ops/names.cpp) goes back to its name first: it was not moved.
  if (!r.past->parking.empty()) {
    if (auto parked = Name::parse(r.past->parking.c_str())) {
      (void)r.fs.resolver().rename(to.dir->handle(), parked.value(), from.dir->handle(), from.name,
                                   RENAME_NOREPLACE);
    }
  }
  auto source = identity_at(r, from);
  if (!source) return source.error();
  auto target = identity_at(r, to);
  if (!target) return target.error();
  const auto& [was_source, was_target] = r.past->before;
  if (source.value() == was_source && target.value() == was_target) return Fate::kServe;
  bool exchanged =
      (flags & RENAME_EXCHANGE) && source.value() == was_target && target.value() == was_source;
  bool moved = !(flags & RENAME_EXCHANGE) && !source.value() && target.value() == was_source;
  if (exchanged || moved) return Fate::kHappened;
  return undecided();
}

Result<Fate> made_fate(const Request& r, const guards::Place& place, NodeType type) {
  if (!r.past) return Fate::kServe;
  auto now = identity_at(r, place);
  if (!now) return now.error();
  if (r.past->done) {
    if (r.past->result < 0) return recorded(*r.past);
    // Made and recorded: answered from it while it is still what the name holds.
    return now.value() && now.value() == r.past->made ? Fate::kHappened : Result<Fate>(undecided());
  }
  // Nothing there, or what was there before: not made (serving it answers EEXIST for the
  // latter). Something new: made by the predecessor just before it died, or by another party.
  if (!now.value() || now.value() == r.past->before[0]) return Fate::kServe;
  return made_by_request(r, place, type) ? Fate::kHappened : Fate::kServe;
}

Result<Fate> attribute_fate(const Request& r, FdRef fd, const char* name, const void* value,
                            size_t size) {
  if (!r.past) return Fate::kServe;
  if (r.past->done) return recorded(*r.past);
  auto length = sys::fgetxattr(fd, name, nullptr, 0);
  if (!length && length.code() != ENODATA) return length.error();
  if (value == nullptr) {  // a removal: made when an attribute that existed is gone
    return r.past->existed && !length ? Fate::kHappened : Fate::kServe;
  }
  if (r.past->existed || !length || length.value() != size) return Fate::kServe;
  std::vector<char> now(size);
  auto read = sys::fgetxattr(fd, name, now.data(), now.size());
  bool same = read && read.value() == size && std::memcmp(now.data(), value, size) == 0;
  return same ? Fate::kHappened : Fate::kServe;
}

Result<Fate> append_fate(const Request& r, const OpenFile& file, const void* data, size_t size) {
  if (!r.past) return Fate::kServe;
  if (r.past->done) return recorded(*r.past);
  auto st = sys::fstat(file.fd.ref());
  if (!st) return st.error();
  const int64_t before = r.past->size_before;
  if (st->st_size == before) return Fate::kServe;
  // Made when the bytes at the old end are this write's (read through an fd of its own: the
  // open may be write-only).
  if (before >= 0 && st->st_size >= before + static_cast<int64_t>(size)) {
    auto reader = r.fs.resolver().reopen(file.node->handle(), O_RDONLY);
    if (!reader) return reader.error();
    std::vector<char> there(size);
    auto n = sys::pread(reader->ref(), there.data(), size, before);
    if (n && n.value() == size && std::memcmp(there.data(), data, size) == 0) {
      return Fate::kHappened;
    }
  }
  return undecided();
}

Result<Fate> shift_fate(const Request& r, const OpenFile& file, int mode, off_t length) {
  if (!r.past) return Fate::kServe;
  if (r.past->done) return recorded(*r.past);
  auto st = sys::fstat(file.fd.ref());
  if (!st) return st.error();
  const int64_t before = r.past->size_before;
  if (st->st_size == before) return Fate::kServe;
  int64_t after = (mode & FALLOC_FL_COLLAPSE_RANGE) ? before - length : before + length;
  return st->st_size == after ? Result<Fate>(Fate::kHappened) : Result<Fate>(undecided());
}

}  // namespace confinefs::ops
