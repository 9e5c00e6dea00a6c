#include "fusefs/resolve/mount_watch.h"

#include <fcntl.h>
#include <poll.h>

#include <string_view>

#include "fusefs/sys/mountinfo.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs {
inline namespace resolve {
namespace {

Result<std::string> read_all(FdRef fd) {
  std::string text;
  char buf[16384];
  for (off_t at = 0;;) {
    auto n = sys::pread(fd, buf, sizeof buf, at);
    if (!n) return n.error();
    if (n.value() == 0) return text;
    text.append(buf, n.value());
    at += static_cast<off_t>(n.value());
  }
}

bool beneath(std::string_view point, std::string_view root) {
  if (root == "/") return point != "/";
  return point.size() > root.size() && point.starts_with(root) && point[root.size()] == '/';
}

}  // namespace

Result<MountWatch> MountWatch::open(const Resolver& resolver) {
  auto table = resolver.open_mount_table();
  if (!table) return table.error();
  MountWatch watch(resolver, std::move(table.value()));
  watch.possible_ = watch.scan();
  return watch;
}

MountWatch::MountWatch(MountWatch&& other) noexcept
    : resolver_(other.resolver_),
      mountinfo_(std::move(other.mountinfo_)),
      possible_(other.possible_) {}

bool MountWatch::changed() const {
  pollfd p{mountinfo_.get(), POLLPRI, 0};
  // The kernel flags POLLERR|POLLPRI once per change of the namespace's mount table, per open
  // file; a failed poll counts as a change.
  return ::poll(&p, 1, 0) != 0;
}

bool MountWatch::scan() const {
  auto root = resolver_.root_path();
  if (!root) return true;
  auto text = read_all(mountinfo_.ref());
  if (!text) return true;
  std::string_view rest = text.value();
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    auto entry = sys::parse_mountinfo_line(line);
    if (!entry) return true;
    if (beneath(entry->mount_point, root.value())) return true;
  }
  return false;
}

bool MountWatch::mounts_possible() {
  std::lock_guard lock(mutex_);
  // Rescanned under the lock, so no listing uses an answer older than a change it could see.
  if (changed()) possible_ = scan();
  return possible_;
}

}  // namespace resolve
}  // namespace confinefs
