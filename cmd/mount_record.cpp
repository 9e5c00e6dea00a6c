#include "cmd/mount_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

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

Result<void> record_mount(const std::string& canonical_mountpoint, const MountIdentity& ids) {
  if (auto ok = prepare_control_dir(); !ok) return ok.error();
  std::string path = mount_record_path(canonical_mountpoint);
  std::string temp = path + ".new";
  ::unlink(temp.c_str());
  Fd file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.valid()) return last_error();
  std::string text = std::to_string(ids.id) + " " + std::to_string(ids.unique_id) + "\n";
  if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    Error e = last_error();
    ::unlink(temp.c_str());
    return e;
  }
  // Whole or not at all: a reader never sees half a record.
  if (::rename(temp.c_str(), path.c_str()) != 0) return last_error();
  return {};
}

std::optional<MountIdentity> recorded_mount(const std::string& canonical_mountpoint) {
  Fd file(
      ::open(mount_record_path(canonical_mountpoint).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid() || !written_by_root(file)) return std::nullopt;
  char text[64] = {};
  ssize_t n = ::read(file.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  unsigned long long id = 0, unique_id = 0;
  if (std::sscanf(text, "%llu %llu", &id, &unique_id) != 2 || id == 0) return std::nullopt;
  return MountIdentity{id, unique_id};
}

void forget_mount(const std::string& canonical_mountpoint) {
  ::unlink(mount_record_path(canonical_mountpoint).c_str());
}

}  // namespace confinefs::cmd
