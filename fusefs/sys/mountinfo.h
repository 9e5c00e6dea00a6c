// Lines of /proc/self/mountinfo, as the kernel writes them (proc(5)).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confinefs::sys {

struct MountInfoLine {
  uint64_t id = 0;
  dev_t device = 0;         // major:minor of the filesystem
  std::string root;         // the mount's root within its filesystem, unescaped
  std::string mount_point;  // unescaped
  std::string fstype;
  std::string source;  // unescaped
};

// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
std::optional<MountInfoLine> parse_mountinfo_line(std::string_view line);

}  // namespace confinefs::sys
