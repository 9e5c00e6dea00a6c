#include "cmd/kernel_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

namespace confinefs::cmd {
namespace {

// fsconfig flags the FUSE kernel module or the VFS take as they are.
constexpr std::string_view kFsFlags[] = {"allow_other", "default_permissions", "sync", "dirsync",
                                         "lazytime"};
// Words that undo one of those.
constexpr std::pair<std::string_view, std::string_view> kFsUnflags[] = {{"async", "sync"},
                                                                        {"nolazytime", "lazytime"}};
constexpr std::string_view kKernelOnly[] = {"nodiratime", "relatime", "strictatime", "lazytime",
                                            "nolazytime"};
constexpr unsigned kAtimeMask = MOUNT_ATTR__ATIME;

void set_flag(std::vector<std::string>& flags, std::string_view f, bool on) {
  std::erase(flags, f);
  if (on) flags.emplace_back(f);
}

void set_atime(unsigned& attrs, unsigned mode) { attrs = (attrs & ~kAtimeMask) | mode; }

// Applies one word; false when it has no kernel equivalent here.
bool apply_word(std::string_view w, KernelMountOptions& o) {
  auto eq = w.find('=');
  if (eq != std::string_view::npos) {
    std::string_view key = w.substr(0, eq), value = w.substr(eq + 1);
    if (key == "fsname") {
      o.source = value;
    } else if (key == "subtype") {
      o.subtype = value;
    } else {
      return false;
    }
    return true;
  }
  if (std::find(std::begin(kFsFlags), std::end(kFsFlags), w) != std::end(kFsFlags)) {
    set_flag(o.fs_flags, w, true);
  } else if (auto u = std::find_if(std::begin(kFsUnflags), std::end(kFsUnflags),
                                   [&](const auto& p) { return p.first == w; });
             u != std::end(kFsUnflags)) {
    set_flag(o.fs_flags, u->second, false);
  } else if (w == "ro" || w == "rw") {
    set_flag(o.fs_flags, "ro", w == "ro");
    o.mount_attrs =
        w == "ro" ? o.mount_attrs | MOUNT_ATTR_RDONLY : o.mount_attrs & ~MOUNT_ATTR_RDONLY;
  } else if (w == "noexec" || w == "exec") {
    o.mount_attrs =
        w == "noexec" ? o.mount_attrs | MOUNT_ATTR_NOEXEC : o.mount_attrs & ~MOUNT_ATTR_NOEXEC;
  } else if (w == "nodiratime") {
    o.mount_attrs |= MOUNT_ATTR_NODIRATIME;
  } else if (w == "noatime") {
    set_atime(o.mount_attrs, MOUNT_ATTR_NOATIME);
  } else if (w == "strictatime") {
    set_atime(o.mount_attrs, MOUNT_ATTR_STRICTATIME);
  } else if (w == "relatime" || w == "atime") {
    set_atime(o.mount_attrs, MOUNT_ATTR_RELATIME);
  } else if (w != "nosuid" && w != "nodev") {
    return false;  // allow_root, auto_unmount: libfuse's own machinery
  }
  return true;
}

// The fs context's own error text ("e fuse: Unknown parameter 'x'"), for the log.
void log_context_errors(FdRef fs) {
  char buf[512];
  ssize_t n;
  while ((n = ::read(fs.get(), buf, sizeof buf - 1)) > 0) {
    buf[n] = '\0';
    spdlog::error("mount: {}", std::string_view(buf, static_cast<size_t>(n)));
  }
}

Result<void> configure(FdRef fs, FdRef channel, const KernelMountOptions& o) {
  auto set = [&](const char* key, const std::string& value) {
    return ::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0;
  };
  bool ok = set("source", o.source) && set("fd", std::to_string(channel.get())) &&
            set("rootmode", "40000") && set("user_id", std::to_string(::getuid())) &&
            set("group_id", std::to_string(::getgid())) &&
            (o.subtype.empty() || set("subtype", o.subtype));
  for (const auto& flag : o.fs_flags) {
    ok = ok && ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, flag.c_str(), nullptr, 0) == 0;
  }
  ok = ok && ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0;
  if (!ok) {
    Error e = last_error();
    log_context_errors(fs);
    return e;
  }
  return {};
}

}  // namespace

bool kernel_only_option(std::string_view word) {
  return std::find(std::begin(kKernelOnly), std::end(kKernelOnly), word) != std::end(kKernelOnly);
}

std::optional<KernelMountOptions> kernel_mount_options(const std::vector<std::string>& words) {
  KernelMountOptions o;
  for (const auto& w : words) {
    if (!apply_word(w, o)) return std::nullopt;
  }
  o.mount_attrs |= MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;  // threats 10, 12
  return o;
}

Result<KernelMount> KernelMount::mount(FdRef target, const MountPlace& place,
                                       const KernelMountOptions& o) {
  auto own_place = place.dup();
  if (!own_place) return own_place.error();
  Fd fs(::fsopen("fuse", FSOPEN_CLOEXEC));
  if (!fs.valid()) return last_error();
  Fd channel(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!channel.valid()) return last_error();
  if (auto ok = configure(fs.ref(), channel.ref(), o); !ok) return ok.error();
  // Detached until move_mount: nobody else can unmount or replace it while its ids are read.
  Fd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, o.mount_attrs));
  if (!mnt.valid()) return last_error();
  MountIdentity ids = statx_mount_ids(mnt.get(), "", AT_EMPTY_PATH);
  if (ids.id == 0) return Error{ENOTSUP};
  if (::move_mount(mnt.get(), "", target.get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return last_error();
  }
  return KernelMount(std::move(own_place.value()), std::move(channel), ids);
}

KernelMount::KernelMount(KernelMount&& other) noexcept
    : place_(std::move(other.place_)),
      channel_(std::move(other.channel_)),
      identity_(other.identity_) {
  other.place_.reset();
}

KernelMount::~KernelMount() {
  if (!place_) return;
  if (auto ok = unmount_if(*place_, identity_); !ok && ok.code() != ENOENT) {
    spdlog::warn("cannot unmount {}: {}", place_->canonical(), std::strerror(ok.code()));
  }
}

}  // namespace confinefs::cmd
