#include "cmd/mount_record.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "cmd/control.h"
#include "fusefs/fd.h"

namespace confinefs::cmd {
namespace {

// A file written by root in a directory only root may change, or nothing (a record anyone else
// could have written would let them choose what root unmounts).
bool written_by_root(const Fd& file) {
  struct stat st {};
  return ::fstat(file.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
         (st.st_mode & 0022) == 0;
}

}  // namespace

std::string mount_record_path(const std::string& canonical_mountpoint) {
  std::string socket = control_socket_path(canonical_mountpoint);
  return socket.substr(0, socket.size() - std::string(".sock").size()) + ".mount";
}

Result<void> record_mount(const std::string& canonical_mountpoint, const MountRecord& record) {
  if (auto ok = prepare_control_dir(); !ok) return ok.error();
  std::string path = mount_record_path(canonical_mountpoint);
  std::string temp = path + ".new";
  ::unlink(temp.c_str());
  Fd file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.valid()) return last_error();
  // One line of numbers (the last: the mountpoint's length), then the mountpoint (a file named by
  // a hash could be another mountpoint's), then BACKING's path as the rest of the file.
  std::string text =
      std::to_string(record.mount.id) + " " + std::to_string(record.mount.unique_id) + " " +
      std::to_string(record.bind.id) + " " + std::to_string(record.bind.unique_id) + " " +
      std::to_string(record.backing_dev) + " " + std::to_string(record.backing_ino) + " " +
      std::to_string(canonical_mountpoint.size()) + "\n" + canonical_mountpoint + record.backing;
  if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    Error e = last_error();
    ::unlink(temp.c_str());
    return e;
  }
  // Whole or not at all: a reader never sees half a record.
  if (::rename(temp.c_str(), path.c_str()) != 0) return last_error();
  return {};
}

std::optional<MountRecord> recorded_mount(const std::string& canonical_mountpoint) {
  Fd file(
      ::open(mount_record_path(canonical_mountpoint).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid() || !written_by_root(file)) return std::nullopt;
  char text[2 * PATH_MAX + 256] = {};
  ssize_t n = ::read(file.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  unsigned long long v[7] = {};
  int used = 0;
  if (std::sscanf(text, "%llu %llu %llu %llu %llu %llu %llu\n%n", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &v[6], &used) != 7 ||
      v[0] == 0 || used <= 0 || static_cast<size_t>(n - used) < v[6] ||
      std::string_view(text + used, v[6]) != canonical_mountpoint) {
    return std::nullopt;
  }
  used += static_cast<int>(v[6]);
  MountRecord r;
  r.mount = MountIdentity{v[0], v[1]};
  r.bind = MountIdentity{v[2], v[3]};
  r.backing_dev = static_cast<dev_t>(v[4]);
  r.backing_ino = static_cast<ino_t>(v[5]);
  r.backing.assign(text + used, static_cast<size_t>(n - used));
  return r;
}

void forget_mount(const std::string& canonical_mountpoint) {
  ::unlink(mount_record_path(canonical_mountpoint).c_str());
}

}  // namespace confinefs::cmd
