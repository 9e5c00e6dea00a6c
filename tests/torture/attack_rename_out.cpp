// Threat 7: a directory the victim is writing into is renamed out of the backing tree. Its fd in
// the daemon stays valid after the move, so a daemon that keeps using held fds creates files
// outside. The attack moves the directory into the attic (outside the backing directory), lists
// it right away (anything already there is not counted: it may have been created before the
// move), and puts a fresh directory back under the name. Any entry that appears in or vanishes
// from a moved directory after that listing was made by the daemon outside the backing tree.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <set>
#include <thread>

#include "attack.h"

namespace torture {
namespace {

using Clock = std::chrono::steady_clock;

std::set<std::string> list_names(int dirfd, const std::string& name) {
  std::set<std::string> names;
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return names;
  DIR* d = fdopendir(fd.release());
  for (dirent* e; d && (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.insert(e->d_name);
  if (d) closedir(d);
  return names;
}

std::string json_names(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? ", \"" : "\"") + json_escape(names[i]) + "\"";
  return out + "]";
}

class RenameOutAttack : public Attack {
 public:
  RenameOutAttack(const AttackEnv& env, std::string dir)
      : backing_(env.backing.get()), attic_(open_dir_or_throw(env.attic)), name_(std::move(dir)) {
    manifest_ = fopen(env.manifest.c_str(), "we");
    if (!manifest_) throw SetupError("open manifest: " + std::string(strerror(errno)));
    make_dir(backing_, name_.c_str());
  }
  ~RenameOutAttack() override {
    if (manifest_) fclose(manifest_);
  }

  void step() override {
    std::string moved = "moved-" + std::to_string(n_++);
    if (failed(renameat(backing_, name_.c_str(), attic_.get(), moved.c_str()))) {
      make_dir(backing_, name_.c_str());
      return;
    }
    attempted();
    ring_.push_back({moved, list_names(attic_.get(), moved), Clock::now()});
    make_dir(backing_, name_.c_str());
    evict_old();
    // Give the victim a moment to open the fresh directory before it is moved away too; without
    // it the victim mostly sees ENOENT and the attic fills with empty directories.
    std::this_thread::sleep_for(std::chrono::microseconds(kPauseUs));
  }

  // The directories still in the ring are compared by scripts/torture once every victim is gone,
  // so a create that was still in flight at the deadline is not missed.
  void finish() override {
    for (const Moved& m : ring_) {
      fprintf(manifest_, "{\"dir\": \"%s\", \"snapshot\": %s}\n", json_escape(m.name).c_str(),
              json_names({m.snapshot.begin(), m.snapshot.end()}).c_str());
    }
    fflush(manifest_);
  }

 private:
  struct Moved {
    std::string name;
    std::set<std::string> snapshot;
    Clock::time_point when;
  };

  // Directories are kept well past the kernel's entry cache timeouts (a victim's cached dentry may
  // point at a moved directory for that long), then compared with their snapshot and removed.
  void evict_old() {
    auto horizon = Clock::now() - std::chrono::milliseconds(kKeepMs);
    while (!ring_.empty() && (ring_.front().when < horizon || ring_.size() > kMaxKept)) {
      report_changes(ring_.front());
      remove_any(attic_.get(), ring_.front().name.c_str());
      ring_.pop_front();
    }
  }

  void report_changes(const Moved& m) {
    std::set<std::string> now = list_names(attic_.get(), m.name);
    std::vector<std::string> added, removed;
    for (const auto& n : now)
      if (!m.snapshot.count(n)) added.push_back(n);
    for (const auto& n : m.snapshot)
      if (!now.count(n)) removed.push_back(n);
    if (added.empty() && removed.empty()) return;
    fprintf(manifest_, "{\"dir\": \"%s\", \"evicted\": true, \"added\": %s, \"removed\": %s}\n",
            json_escape(m.name).c_str(), json_names(added).c_str(), json_names(removed).c_str());
  }

  static constexpr int kPauseUs = 200;
  static constexpr int kKeepMs = 2500;
  static constexpr size_t kMaxKept = 20000;
  int backing_;
  UniqueFd attic_;
  std::string name_;
  FILE* manifest_ = nullptr;
  std::deque<Moved> ring_;
  uint64_t n_ = 0;
};

}  // namespace

std::unique_ptr<Attack> make_rename_out_attack(const AttackEnv& env, std::string dir) {
  return std::make_unique<RenameOutAttack>(env, std::move(dir));
}

}  // namespace torture
