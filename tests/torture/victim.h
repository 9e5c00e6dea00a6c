// Victim side of the torture suite: a naive sandboxed program working through the mount the way
// real tools do (plain paths, symlinks followed, O_CREAT|O_TRUNC, chmod by name). It never
// defends itself; it only watches what comes back: any canary token in data, names, link targets
// or xattrs is a leak, and any symlink, FIFO, device or socket it can see is a surfaced object.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace torture {

struct VictimStats {
  std::atomic<uint64_t> ops{0};
  ErrnoCounts errors;
  Evidence leaks;     // canary content or names came back through the mount
  Evidence surfaced;  // a host symlink/FIFO/device/socket was visible through the mount
};
extern VictimStats g_victim;
extern std::string g_token;

// One victim operation against one mount; n is the calling thread's sequence number, so names
// derived from it are unique per thread.
struct OpCtx {
  const std::string& mnt;
  unsigned tid;
  uint64_t n;
};
struct Op {
  const char* name;
  std::function<void(const OpCtx&)> fn;
};

// Counts the operation and, when it failed, its errno. Returns true on failure.
bool failed(long rc);
// Leak check on anything read through the mount.
void scan(std::string_view data, const std::string& where);
// Surfaced-object check on a stat result from the mount.
void check_type(const struct stat& st, const std::string& where);

std::vector<Op> results_ops(const std::string& name, bool hardlink_extras);
std::vector<Op> subdir_ops(const std::string& dir);
std::vector<Op> replace_ops(const std::string& name);
std::vector<Op> read_flip_ops(const std::string& file, const std::string& dir);
std::vector<Op> rename_out_ops(const std::string& dir);
std::vector<Op> rename_out_peek_ops(const std::string& dir);
std::vector<Op> fifo_ops(const std::string& name);
std::vector<Op> device_ops(const std::string& name);
std::vector<Op> mount_flip_ops(const std::string& dir);
std::vector<Op> churn_ops(const std::string& dir);
std::vector<Op> link_climb_ops();
std::vector<Op> second_mount_ops();
std::vector<Op> policy_rename_ops();
std::vector<Op> second_user_ops();

}  // namespace torture
