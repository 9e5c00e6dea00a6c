// Command line: confinefs [options] BACKING MOUNTPOINT, the usual FUSE shape, as typed by a user
// or passed by mount.fuse3 from /etc/fstab. Unknown options are errors, never ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cmd/backing_mount.h"
#include "cmd/failure.h"
#include "fusefs/fuse/passthrough.h"

namespace confinefs::cmd {

enum class CacheMode { kStrict, kAuto, kFull };
// -o landlock=: auto applies it when the kernel has it, require refuses to start without it.
enum class LandlockMode { kAuto, kRequire, kOff };

struct Options {
  std::string backing;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool show_help = false;
  bool show_version = false;
  std::string log_level = "info";
  std::optional<std::string> policy_file;
  std::optional<std::string> check_policy_file;
  CacheMode cache = CacheMode::kAuto;
  size_t max_nodes = 1u << 20;
  std::vector<std::string> mount_options;  // for libfuse, after our defaults
  std::vector<std::string> overridden;     // suid/dev asked for, replaced by nosuid/nodev
  LandlockMode landlock = LandlockMode::kAuto;
  BackingMountMode backing_mount = BackingMountMode::kAuto;  // -o backing_mount=
  std::optional<std::string> user;   // -o user=: run as this tenant once mounted
  std::optional<std::string> group;  // -o group=: its primary group (default: the user's)
  // -o service_user=: run as this identity once mounted, keeping the serving capabilities (files
  // are still created as the calling process); the sandbox cannot signal or limit the daemon.
  std::optional<std::string> service_user;
  bool seccomp = false;  // -o seccomp=on: syscall allow-list once mounted
  // -o hardlink_proof=off: only the link-count checks stand against a hardlink raced in and out
  // of a name (for measuring and for scripts/torture's proof of teeth; guards/verify.cpp)
  bool hardlink_proof = true;
  // -o passthrough=: the kernel reads and writes regular files straight from the daemon's
  // verified host fd where it can (fuse/passthrough.h)
  fuse::PassthroughMode passthrough = fuse::PassthroughMode::kAuto;
  // -o resume=on: the mount outlives the daemon; a successor takes over its connection from the
  // supervisor's fd store (cmd/fd_store.h)
  bool resume = false;
};

// Parses argv; a usage error is a Failure naming the word at fault.
Phase<Options> parse(int argc, char** argv);
// The argv of "confinefs" for an argv of "mount.confinefs" (mount(8)'s helper form).
Phase<std::vector<char*>> mount_helper_args(int argc, char** argv);
void print_usage(const char* program);

}  // namespace confinefs::cmd
