// Attacker side of the torture suite: an outside process with write access to the backing
// directory, racing the daemon. Every attack works through *at() calls on a held fd of the backing
// directory, so it runs at syscall speed and never touches the mount itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common.h"

namespace torture {

struct AttackEnv {
  // The backing directory the daemon serves. scripts/torture opens it before any daemon starts
  // and passes it down (--backing-fd): an outside process that has held BACKING since before the
  // daemon made it a mount of its own, the worst case for the link-count checks.
  UniqueFd backing;
  std::string backing_path;     // same, for the few calls that need a path (mount, bind)
  std::string target;           // outside file the victim must never write to (absolute)
  std::string secret;           // outside file whose content must never be read
  std::string outside_dir;      // outside directory with canary entries (absolute)
  std::string outside_dir_rel;  // the same directory, relative to the backing directory
  std::string attic;            // where rename-out moves directories (outside the backing dir)
  std::string manifest;         // rename-out writes its snapshots here (JSON lines)
};

extern ErrnoCounts g_attack_errors;

class Attack {
 public:
  virtual ~Attack() = default;
  // One hostile placement and its withdrawal; adds to attempts().
  virtual void step() = 0;
  // Called once after the deadline: restore what must not outlive the run (mounts, manifests).
  virtual void finish() {}
  virtual uint64_t attempts() const { return attempts_; }
  // Attempts whose hostile object the kernel let into BACKING (reported where they differ).
  virtual uint64_t placed() const { return attempts(); }

 protected:
  void attempted(uint64_t n = 1) { attempts_ += n; }
  // Records a failed syscall; the attack keeps going, the histogram shows why it stumbled.
  static bool failed(int rc) {
    if (rc >= 0) return false;
    g_attack_errors.add(errno);
    return true;
  }

 private:
  uint64_t attempts_ = 0;
};

// Content of the regular files an attack puts back in a loop. Empty on purpose: ext4's
// auto_da_alloc writes out a file's delayed data when it is renamed over another name, which
// would slow the loop a hundredfold and measure the disk instead of the race.
inline constexpr std::string_view kEmpty{};

// Helpers shared by the attacks, all relative to a held directory fd.
void make_regular(int dirfd, const char* name, std::string_view content);
void make_dir(int dirfd, const char* name);
// Removes whatever sits at name (file, symlink, node, empty or full directory).
void remove_any(int dirfd, const char* name);

std::unique_ptr<Attack> make_symlink_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_hardlink_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_hardlink_race_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_replace_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_exchange_attack(const AttackEnv& env, std::string file,
                                             std::string dir);
std::unique_ptr<Attack> make_intermediate_attack(const AttackEnv& env, std::string dir);
std::unique_ptr<Attack> make_read_flip_attack(const AttackEnv& env, std::string file,
                                              std::string dir);
std::unique_ptr<Attack> make_rename_out_attack(const AttackEnv& env, std::string dir);
std::unique_ptr<Attack> make_rename_out_peek_attack(const AttackEnv& env, std::string dir);
std::unique_ptr<Attack> make_fifo_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_device_attack(const AttackEnv& env, std::string name);
std::unique_ptr<Attack> make_mount_flip_attack(const AttackEnv& env, std::string dir);
std::unique_ptr<Attack> make_churn_attack(const AttackEnv& env, std::string dir);
std::unique_ptr<Attack> make_link_climb_attack(const AttackEnv& env);
std::unique_ptr<Attack> make_second_mount_attack(const AttackEnv& env);
std::unique_ptr<Attack> make_policy_rename_attack(const AttackEnv& env);
std::unique_ptr<Attack> make_second_user_attack(const AttackEnv& env);

}  // namespace torture
