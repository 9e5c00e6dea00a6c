// Attacks that plant links to outside files and directories at names the victim uses:
// threats 1 (final-name symlink), 2 (intermediate symlink, chains, loops, relative and /proc
// targets), 3 (surfaced symlinks), 5/6 (hardlinks, O_TRUNC), 14 (metadata through links),
// 15 (RENAME_EXCHANGE).
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "attack.h"

namespace torture {
namespace {

// Temporary names start with '.' so the victims, which use fixed names, never pick them.
constexpr const char* kTmp = ".tmp-attack";

// `ln -sf TARGET NAME; rm -f NAME`, literally (the Monty report), alternating with a rename over
// NAME so a regular file the victim just created is replaced atomically.
class SymlinkAttack : public Attack {
 public:
  SymlinkAttack(const AttackEnv& env, std::string name)
      : dir_(env.backing.get()), target_(env.target), name_(std::move(name)) {}

  void step() override {
    bool placed = (n_++ & 1) ? ln_sf() : rename_over();
    if (placed) attempted();
    failed(unlinkat(dir_, name_.c_str(), 0));
  }

 private:
  bool ln_sf() {
    if (symlinkat(target_.c_str(), dir_, name_.c_str()) == 0) return true;
    if (errno != EEXIST) return !failed(-1);
    failed(unlinkat(dir_, name_.c_str(), 0));
    return !failed(symlinkat(target_.c_str(), dir_, name_.c_str()));
  }
  bool rename_over() {
    unlinkat(dir_, kTmp, 0);
    if (failed(symlinkat(target_.c_str(), dir_, kTmp))) return false;
    return !failed(renameat(dir_, kTmp, dir_, name_.c_str()));
  }

  int dir_;
  std::string target_, name_;
  uint64_t n_ = 0;
};

// The same race with a hardlink to the outside file: the name is a regular file, but it is the
// outside file, so only an nlink check after open can tell. Every link tried is an attempt
// (confinefs's bind over BACKING makes them fail with EXDEV unless the attacker holds BACKING
// from before it); placed() counts those that got in.
class HardlinkAttack : public Attack {
 public:
  HardlinkAttack(const AttackEnv& env, std::string name)
      : dir_(env.backing.get()), target_(env.target), name_(std::move(name)) {}

  void step() override {
    attempted();
    if ((n_++ & 1) ? link_direct() : rename_over()) ++placed_;
    failed(unlinkat(dir_, name_.c_str(), 0));
  }
  uint64_t placed() const override { return placed_; }

 private:
  bool link_direct() {
    if (linkat(AT_FDCWD, target_.c_str(), dir_, name_.c_str(), 0) == 0) return true;
    if (errno != EEXIST) return !failed(-1);
    failed(unlinkat(dir_, name_.c_str(), 0));
    return !failed(linkat(AT_FDCWD, target_.c_str(), dir_, name_.c_str(), 0));
  }
  bool rename_over() {
    unlinkat(dir_, kTmp, 0);
    if (failed(linkat(AT_FDCWD, target_.c_str(), dir_, kTmp, 0))) return false;
    return !failed(renameat(dir_, kTmp, dir_, name_.c_str()));
  }

  int dir_;
  std::string target_, name_;
  uint64_t n_ = 0, placed_ = 0;
};

// docs/threat-model.md row 21, literally: link(OUTSIDE/target, BACKING/name) then
// unlink(BACKING/name), by path, from a process that started after the daemon. unlink lowers the
// link count before the name goes, so a daemon that trusts "the name shows one link" loses; only
// BACKING being a mount of its own (link(2) fails with EXDEV across mounts) stops it. Every
// link(2) call is an attempt, whether the kernel lets it through or not.
class HardlinkRaceAttack : public Attack {
 public:
  HardlinkRaceAttack(const AttackEnv& env, const std::string& name)
      : target_(env.target), name_(env.backing_path + "/" + name) {}

  void step() override {
    attempted();
    if (!failed(link(target_.c_str(), name_.c_str()))) ++placed_;
    unlink(name_.c_str());
  }
  uint64_t placed() const override { return placed_; }

 private:
  std::string target_, name_;
  uint64_t placed_ = 0;
};

// A file that is atomically replaced (rename) by a symlink to the outside file, back by a fresh
// regular file, by a hardlink to the outside file, and back again, while the victim writes,
// truncates and changes metadata at that name.
class ReplaceAttack : public Attack {
 public:
  ReplaceAttack(const AttackEnv& env, std::string name)
      : dir_(env.backing.get()), target_(env.target), name_(std::move(name)) {
    make_regular(dir_, name_.c_str(), "benign\n");
  }

  void step() override {
    bool hard = (n_++ & 1);
    unlinkat(dir_, kTmp, 0);
    int rc = hard ? linkat(AT_FDCWD, target_.c_str(), dir_, kTmp, 0)
                  : symlinkat(target_.c_str(), dir_, kTmp);
    attempted();
    if (!failed(rc) && !failed(renameat(dir_, kTmp, dir_, name_.c_str()))) ++placed_;
    unlinkat(dir_, kTmp, 0);
    make_regular(dir_, kTmp, kEmpty);
    failed(renameat(dir_, kTmp, dir_, name_.c_str()));
  }
  uint64_t placed() const override { return placed_; }

 private:
  int dir_;
  std::string target_, name_;
  uint64_t n_ = 0, placed_ = 0;
};

// renameat2(RENAME_EXCHANGE) of a regular file with a symlink to the outside file, and of a
// directory with a symlink to the outside directory: the name never disappears, it just changes
// what it is, which is the most reliable way to win a check-then-use window.
class ExchangeAttack : public Attack {
 public:
  ExchangeAttack(const AttackEnv& env, std::string file, std::string dir)
      : dir_(env.backing.get()), file_(std::move(file)), subdir_(std::move(dir)) {
    make_regular(dir_, file_.c_str(), "benign\n");
    make_dir(dir_, subdir_.c_str());
    failed(symlinkat(env.target.c_str(), dir_, kFileLink));
    failed(symlinkat(env.outside_dir.c_str(), dir_, kDirLink));
  }

  void step() override {
    for (int i = 0; i < 2; ++i) {
      if (!failed(renameat2(dir_, file_.c_str(), dir_, kFileLink, RENAME_EXCHANGE))) attempted();
      if (!failed(renameat2(dir_, subdir_.c_str(), dir_, kDirLink, RENAME_EXCHANGE))) attempted();
    }
  }

 private:
  static constexpr const char* kFileLink = ".xlink-file";
  static constexpr const char* kDirLink = ".xlink-dir";
  int dir_;
  std::string file_, subdir_;
};

// An intermediate directory flipping between the real directory and a symlink to the outside
// directory, with every kind of target a resolver gets wrong: absolute, relative with "..",
// through /proc/self/root (a magic link), a chain of symlinks, and a loop.
class IntermediateAttack : public Attack {
 public:
  IntermediateAttack(const AttackEnv& env, std::string dir)
      : dir_(env.backing.get()), name_(std::move(dir)) {
    make_dir(dir_, name_.c_str());
    make_dir(dir_, (name_ + "/x").c_str());
    failed(symlinkat(env.outside_dir.c_str(), dir_, ".chain"));
    failed(symlinkat(".loop2", dir_, ".loop1"));
    failed(symlinkat(".loop1", dir_, ".loop2"));
    targets_ = {env.outside_dir, env.outside_dir_rel, "/proc/self/root" + env.outside_dir, ".chain",
                ".loop1",        "./.chain/"};
  }

  void step() override {
    const std::string& target = targets_[n_++ % targets_.size()];
    if (failed(renameat(dir_, name_.c_str(), dir_, kStash))) return restore();
    if (!failed(symlinkat(target.c_str(), dir_, name_.c_str()))) attempted();
    failed(unlinkat(dir_, name_.c_str(), 0));
    failed(renameat(dir_, kStash, dir_, name_.c_str()));
  }

 private:
  // If a previous step was interrupted halfway, bring the real directory back under its name.
  void restore() {
    unlinkat(dir_, name_.c_str(), 0);
    if (renameat(dir_, kStash, dir_, name_.c_str()) != 0 && errno == ENOENT)
      mkdirat(dir_, name_.c_str(), 0755);
  }

  static constexpr const char* kStash = ".stash";
  int dir_;
  std::string name_;
  std::vector<std::string> targets_;
  uint64_t n_ = 0;
};

// A file the victim reads flipping to a symlink and to a hardlink to the outside secret, and a
// directory the victim lists exchanged with a symlink to the outside directory.
class ReadFlipAttack : public Attack {
 public:
  ReadFlipAttack(const AttackEnv& env, std::string file, std::string dir)
      : dir_(env.backing.get()),
        secret_(env.secret),
        file_(std::move(file)),
        subdir_(std::move(dir)) {
    make_regular(dir_, file_.c_str(), "benign\n");
    make_dir(dir_, subdir_.c_str());
    make_regular(dir_, (subdir_ + "/hello").c_str(), "benign\n");
    failed(symlinkat(env.outside_dir.c_str(), dir_, kDirLink));
  }

  void step() override {
    bool hard = (n_++ & 1);
    unlinkat(dir_, kTmp, 0);
    int rc = hard ? linkat(AT_FDCWD, secret_.c_str(), dir_, kTmp, 0)
                  : symlinkat(secret_.c_str(), dir_, kTmp);
    attempted();
    if (!failed(rc) && !failed(renameat(dir_, kTmp, dir_, file_.c_str()))) ++placed_;
    unlinkat(dir_, kTmp, 0);
    make_regular(dir_, kTmp, kEmpty);
    failed(renameat(dir_, kTmp, dir_, file_.c_str()));
    attempted();
    if (!failed(renameat2(dir_, subdir_.c_str(), dir_, kDirLink, RENAME_EXCHANGE))) ++placed_;
    failed(renameat2(dir_, subdir_.c_str(), dir_, kDirLink, RENAME_EXCHANGE));
  }
  uint64_t placed() const override { return placed_; }

 private:
  static constexpr const char* kDirLink = ".xlink-ls";
  int dir_;
  std::string secret_, file_, subdir_;
  uint64_t n_ = 0, placed_ = 0;
};

}  // namespace

std::unique_ptr<Attack> make_symlink_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<SymlinkAttack>(env, std::move(name));
}
std::unique_ptr<Attack> make_hardlink_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<HardlinkAttack>(env, std::move(name));
}
std::unique_ptr<Attack> make_hardlink_race_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<HardlinkRaceAttack>(env, name);
}
std::unique_ptr<Attack> make_replace_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<ReplaceAttack>(env, std::move(name));
}
std::unique_ptr<Attack> make_exchange_attack(const AttackEnv& env, std::string file,
                                             std::string dir) {
  return std::make_unique<ExchangeAttack>(env, std::move(file), std::move(dir));
}
std::unique_ptr<Attack> make_intermediate_attack(const AttackEnv& env, std::string dir) {
  return std::make_unique<IntermediateAttack>(env, std::move(dir));
}
std::unique_ptr<Attack> make_read_flip_attack(const AttackEnv& env, std::string file,
                                              std::string dir) {
  return std::make_unique<ReadFlipAttack>(env, std::move(file), std::move(dir));
}

}  // namespace torture
