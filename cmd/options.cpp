#include "cmd/options.h"

#include <charconv>
#include <cstdio>
#include <set>
#include <string_view>

namespace confinefs::cmd {
namespace {

// Mount options passed through to libfuse / the kernel. suid and dev are absent on purpose:
// a confinement mount is always nosuid,nodev (threats 10, 12).
const std::set<std::string_view> kMountFlags = {
    "rw",         "ro",        "allow_other", "allow_root", "auto_unmount", "default_permissions",
    "nosuid",     "nodev",     "exec",        "noexec",     "atime",        "noatime",
    "nodiratime", "relatime",  "strictatime", "sync",       "async",        "dirsync",
    "lazytime",   "nolazytime"};
const std::set<std::string_view> kMountKeyed = {"fsname"};
// Options mount(8)/mount.fuse3 may hand over that mean nothing to the daemon.
const std::set<std::string_view> kIgnored = {"defaults", "auto",  "noauto",  "user",
                                             "nouser",   "users", "_netdev", "nofail"};

bool parse_size(std::string_view v, size_t& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && out > 0;
}

// The auto|require|off options (landlock=, backing_mount=).
template <typename Mode>
Phase<> parse_mode(std::string_view key, std::string_view value, Mode& out) {
  if (value == "auto") {
    out = Mode::kAuto;
  } else if (value == "require") {
    out = Mode::kRequire;
  } else if (value == "off") {
    out = Mode::kOff;
  } else {
    return Failure::usage(std::string(key) + " must be auto, require or off");
  }
  return {};
}

// Applies one -o item.
Phase<> apply_option(std::string_view item, Options& o) {
  auto eq = item.find('=');
  std::string_view key = item.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
  bool keyed = eq != std::string_view::npos;
  if (item.empty() || kIgnored.contains(item) || key.starts_with("x-") || key == "comment") {
    return {};
  }
  if (key == "policy" && keyed && !value.empty()) {
    o.policy_file = std::string(value);
  } else if (key == "log_level" && keyed) {
    o.log_level = std::string(value);
  } else if (key == "cache" && keyed) {
    if (value == "strict") {
      o.cache = CacheMode::kStrict;
    } else if (value == "auto") {
      o.cache = CacheMode::kAuto;
    } else if (value == "full") {
      o.cache = CacheMode::kFull;
    } else {
      return Failure::usage("cache must be strict, auto or full");
    }
  } else if (key == "max_nodes" && keyed) {
    if (!parse_size(value, o.max_nodes))
      return Failure::usage("max_nodes must be a positive integer");
  } else if (key == "landlock" && keyed) {
    return parse_mode(key, value, o.landlock);
  } else if (key == "backing_mount" && keyed) {
    return parse_mode(key, value, o.backing_mount);
  } else if (key == "user" && keyed && !value.empty()) {
    o.user = std::string(value);
  } else if (key == "service_user" && keyed && !value.empty()) {
    o.service_user = std::string(value);
  } else if (key == "group" && keyed && !value.empty()) {
    o.group = std::string(value);
  } else if (key == "passthrough" && keyed) {
    return parse_mode(key, value, o.passthrough);
  } else if (key == "seccomp" && keyed) {
    if (value != "on" && value != "off") return Failure::usage("seccomp must be on or off");
    o.seccomp = value == "on";
  } else if (key == "hardlink_proof" && keyed) {
    if (value != "on" && value != "off") return Failure::usage("hardlink_proof must be on or off");
    o.hardlink_proof = value == "on";
  } else if (key == "resume" && keyed) {
    if (value != "on" && value != "off") return Failure::usage("resume must be on or off");
    o.resume = value == "on";
  } else if (key == "subtype" && keyed) {
    // Start-up and the unmount helper recognise confinefs's own mounts by fuse.confinefs: under
    // another subtype a dead mount would never be cleaned up.
    if (value != "confinefs") return Failure::usage("subtype is always confinefs");
  } else if (item == "suid" || item == "dev") {
    // mount.fuse3 adds these for root by default; confinefs overrides them with nosuid,nodev.
    o.overridden.emplace_back(item);
  } else if ((!keyed && kMountFlags.contains(item)) || (keyed && kMountKeyed.contains(key))) {
    o.mount_options.emplace_back(item);
  } else {
    return Failure::usage("unknown option '" + std::string(item) + "'");
  }
  return {};
}

Phase<> apply_option_list(std::string_view list, Options& o) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (auto ok = apply_option(list.substr(0, comma), o); !ok) return ok;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return {};
}

}  // namespace

Phase<Options> parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&](std::string_view what) -> Phase<std::string> {
      if (i + 1 >= argc) return Failure::usage(std::string(a) + " needs " + std::string(what));
      return std::string(argv[++i]);
    };
    Phase<> step;
    if (a == "-f") {
      o.foreground = true;
    } else if (a == "-d" || a == "--debug") {
      o.debug = o.foreground = true;
      o.log_level = "debug";
    } else if (a == "-s") {
      o.single_thread = true;
    } else if (a == "-h" || a == "--help") {
      o.show_help = true;
    } else if (a == "-V" || a == "--version") {
      o.show_version = true;
    } else if (a == "-o") {
      auto v = next("an option list");
      step = v ? apply_option_list(*v, o) : v.error();
    } else if (a.starts_with("-o") && a.size() > 2) {
      step = apply_option_list(a.substr(2), o);
    } else if (a == "--log-level" || a == "--policy" || a == "--check-policy") {
      auto v = next(a == "--log-level" ? "a level" : "a file");
      if (!v) return v.error();
      if (a == "--log-level") o.log_level = *v;
      if (a == "--policy") o.policy_file = *v;
      if (a == "--check-policy") o.check_policy_file = *v;
    } else if (a.starts_with("-") && a != "-") {
      step = Failure::usage("unknown option '" + std::string(a) + "'");
    } else {
      positional.emplace_back(a);
    }
    if (!step) return step.error();
  }
  if (o.show_help || o.show_version || o.check_policy_file) return o;
  if (positional.size() != 2) {
    return Failure::usage(positional.size() < 2 ? "missing BACKING or MOUNTPOINT"
                                                : "too many arguments");
  }
  o.backing = positional[0];
  o.mountpoint = positional[1];
  return o;
}

// Called as mount.confinefs by mount(8): "SOURCE DIR [-sfnv] [-N ns] [-o opts] [-t type]".
// -s, -n, -v mean nothing here and -f (fake) is not supported; the daemon detaches as usual.
Phase<std::vector<char*>> mount_helper_args(int argc, char** argv) {
  std::vector<char*> out = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-s" || a == "-n" || a == "-v" || a == "-sn" || a == "-ns") continue;
    if (a == "-t" && i + 1 < argc) {
      ++i;
    } else if (a == "-f" || a == "-N") {
      return Failure::usage("mount.confinefs: " + std::string(a) + " is not supported");
    } else {
      out.push_back(argv[i]);
    }
  }
  return out;
}

void print_usage(const char* program) {
  std::printf(
      "usage: %s [options] BACKING MOUNTPOINT\n"
      "\n"
      "Presents BACKING at MOUNTPOINT so that nothing in BACKING (symlinks, hardlinks, special\n"
      "files, other mounts, entries swapped in by other processes) can redirect I/O outside it.\n"
      "\n"
      "options:\n"
      "  -f                   stay in the foreground\n"
      "  -d, --debug          foreground, debug logging and libfuse request tracing\n"
      "  -s                   single-threaded\n"
      "  -o opt[,opt...]      mount options (below)\n"
      "  --log-level LEVEL    trace, debug, info, warn, error, critical, off (default info)\n"
      "  --policy FILE        tenant policy (YAML); same as -o policy=FILE\n"
      "  --check-policy FILE  validate a policy file, print its normalized form, and exit\n"
      "  -h, --help           this help\n"
      "  -V, --version        versions of confinefs and libfuse\n"
      "\n"
      "confinefs -o options:\n"
      "  policy=FILE          tenant policy (YAML)\n"
      "  cache=strict|auto|full  kernel caching against outside writers (default auto)\n"
      "  max_nodes=N          most inodes known at once (default 1048576)\n"
      "  log_level=LEVEL      as --log-level\n"
      "  landlock=auto|require|off  confine the daemon to BACKING once mounted (default auto)\n"
      "  hardlink_proof=on|off  prove at a file's first open that its name is its only link\n"
      "                     (off: the link-count checks alone; for measurements)\n"
      "  backing_mount=auto|require|off  make BACKING a mount of its own, so no hardlink\n"
      "                       can be linked or renamed in from outside (default auto: as root)\n"
      "  user=NAME, group=NAME  run as the tenant once mounted (started as root)\n"
      "  service_user=NAME    run as NAME once mounted, keeping the serving capabilities:\n"
      "                       files belong to the caller, the sandbox cannot signal the daemon\n"
      "  seccomp=on|off       syscall allow-list once mounted (default off)\n"
      "  passthrough=auto|require|off  the kernel reads and writes files straight from the\n"
      "                       verified host file (FUSE passthrough; default auto: as root,\n"
      "                       not with cache=full; opens that byte limits count go through the\n"
      "                       daemon)\n"
      "  resume=on|off        keep the kernel connection and the node table in the\n"
      "                       supervisor's fd store ($NOTIFY_SOCKET) and take them over when\n"
      "                       started again: sessions outlive a crash or a restart (default\n"
      "                       off; as root)\n"
      "\n"
      "mount options passed to the kernel: rw, ro, allow_other, allow_root, auto_unmount,\n"
      "  default_permissions, nosuid, nodev, exec, noexec, atime, noatime, nodiratime,\n"
      "  relatime, strictatime, sync, async, dirsync, lazytime, nolazytime, fsname=.\n"
      "  (nodiratime, relatime, strictatime and [no]lazytime need confinefs to mount\n"
      "  by itself: as root, without allow_root or auto_unmount.)\n"
      "  Always added: default_permissions,nosuid,nodev (suid and dev are refused).\n",
      program);
}

}  // namespace confinefs::cmd
