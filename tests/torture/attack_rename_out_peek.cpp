// Threat 39: a directory the victim holds (a dirfd, a cwd) is moved out of the backing tree, and
// the host then puts its own files in it. The daemon's handle of the directory stays valid, and
// Landlock does not check the O_PATH opens and statx of a lookup, so a daemon that only keeps
// content out still shows names and attributes of what now lives outside. The attack moves the
// directory into the attic, creates a file there whose name carries the canary token (what the
// host "later puts there"), and makes a fresh directory under the old name for the next round.
// The victim stats that name through its dirfd and lists the directory: any success is an escape.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <thread>

#include "attack.h"

namespace torture {
namespace {

using Clock = std::chrono::steady_clock;

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class RenameOutPeekAttack : public Attack {
 public:
  RenameOutPeekAttack(const AttackEnv& env, std::string dir)
      : backing_(env.backing.get()),
        attic_(open_dir_or_throw(env.attic)),
        name_(std::move(dir)),
        planted_(base_name(env.secret)) {
    make_dir(backing_, name_.c_str());
  }

  void step() override {
    // Give the victim a moment to open the directory before it goes.
    std::this_thread::sleep_for(std::chrono::microseconds(kPauseUs));
    std::string moved = "peeked-" + std::to_string(n_++);
    if (failed(renameat(backing_, name_.c_str(), attic_.get(), moved.c_str()))) {
      make_dir(backing_, name_.c_str());
      return;
    }
    attempted();
    UniqueFd dir(openat(attic_.get(), moved.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) make_regular(dir.get(), planted_.c_str(), "host data outside BACKING\n");
    ring_.push_back({moved, Clock::now()});
    make_dir(backing_, name_.c_str());
    evict_old();
  }

  void finish() override {
    while (!ring_.empty()) {
      remove_any(attic_.get(), ring_.front().name.c_str());
      ring_.pop_front();
    }
  }

 private:
  struct Moved {
    std::string name;
    Clock::time_point when;
  };

  // Kept past the kernel's entry timeouts (a victim's cached entry may lead there that long).
  void evict_old() {
    auto horizon = Clock::now() - std::chrono::milliseconds(kKeepMs);
    while (!ring_.empty() && (ring_.front().when < horizon || ring_.size() > kMaxKept)) {
      remove_any(attic_.get(), ring_.front().name.c_str());
      ring_.pop_front();
    }
  }

  static constexpr int kPauseUs = 300;
  static constexpr int kKeepMs = 2500;
  static constexpr size_t kMaxKept = 10000;
  int backing_;
  UniqueFd attic_;
  std::string name_;
  std::string planted_;  // the canary secret's file name: it carries the run's token
  std::deque<Moved> ring_;
  uint64_t n_ = 0;
};

}  // namespace

std::unique_ptr<Attack> make_rename_out_peek_attack(const AttackEnv& env, std::string dir) {
  return std::make_unique<RenameOutPeekAttack>(env, std::move(dir));
}

}  // namespace torture
