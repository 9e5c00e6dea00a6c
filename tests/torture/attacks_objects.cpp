// Attacks on the links, FIFOs and sockets a sandbox makes through the mount (docs/threat-model.md,
// the rows on stored objects): an outside process moving the directory that holds a contained
// relative link to where its `..` would climb out of the mount, and a second mount of the same
// BACKING (another tenant) planting links, FIFOs and sockets for the first mount's client.
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "attack.h"

namespace torture {
namespace {

// The victim makes x1/x2/x3/x4/l -> ../../../../outside/<canary> through the mount: from x4 (four
// levels down) it climbs to the mount root, a contained link. This attack moves x4 to y/x4, two
// levels down, where the same target climbs two levels above the mount root: to the run
// directory's outside/<canary>, the real canary, if the kernel follows the link there.
class LinkClimbAttack : public Attack {
 public:
  explicit LinkClimbAttack(const AttackEnv& env) : dir_(env.backing.get()) {
    // The victim makes the chain and the link; wait for them (a stored link is a regular file
    // on the host).
    for (int i = 0; i < 500 && faccessat(dir_, "x1/x2/x3/x4/l", F_OK, AT_SYMLINK_NOFOLLOW); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (faccessat(dir_, "x1/x2/x3/x4/l", F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
      throw SetupError("the victim never made x1/x2/x3/x4/l");
    }
    make_dir(dir_, "y");
  }
  void step() override {
    attempted();
    if (!failed(renameat(dir_, "x1/x2/x3/x4", dir_, "y/x4"))) {
      // Long enough at the shallow place for the victim to get there now and then: with a bare
      // yield, a daemon without the defence (passthrough_ll) sometimes lost no canary in 4 s.
      std::this_thread::sleep_for(std::chrono::microseconds(kShallowUs));
      failed(renameat(dir_, "y/x4", dir_, "x1/x2/x3/x4"));
    }
  }

 private:
  static constexpr int kShallowUs = 200;
  int dir_;
};

// A client of a second mount of BACKING (env.backing is that mount's root here) plants what a
// tenant can make there: a link climbing out of the mount (a mount that checks refuses it), a
// FIFO (a reader through another mount would wait for a writer forever) and a listening unix
// socket (another mount's client must not reach it), each at a name the first mount's client
// uses, then removes them again.
class SecondMountAttack : public Attack {
 public:
  explicit SecondMountAttack(const AttackEnv& env)
      : dir_(env.backing.get()), mount_(env.backing_path) {
    std::string canary = env.target.substr(env.target.rfind('/') + 1);
    escaping_ = "../../outside/" + canary;  // from the mount root to the run's canary
  }
  void step() override {
    attempted();
    if (symlinkat(escaping_.c_str(), dir_, "l-plant") == 0)
      ++placed_;
    else
      g_attack_errors.add(errno);
    if (mkfifoat(dir_, "p-plant", 0666) == 0)
      ++placed_;
    else
      g_attack_errors.add(errno);
    UniqueFd server(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string at = mount_ + "/s-plant";
    bool bound = at.size() < sizeof addr.sun_path;
    if (bound) {
      memcpy(addr.sun_path, at.c_str(), at.size() + 1);
      bound = bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              listen(server.get(), 64) == 0;
    }
    if (bound)
      ++placed_;
    else
      g_attack_errors.add(errno);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    for (const char* name : {"l-plant", "p-plant", "s-plant"}) unlinkat(dir_, name, 0);
  }
  uint64_t placed() const override { return placed_; }

 private:
  int dir_;
  std::string mount_;
  std::string escaping_;
  uint64_t placed_ = 0;
};

// A policy hides /*/secret. The victim renames /f (a file) to /y/z/t, which the policy allows
// for a file; this attack exchanges /f with /x, a directory holding secret/token (the canary
// secret's content), so that a rename gated on "file" would carry the directory out from under
// its rule and make /y/z/t/secret/token readable. When the victim's rename took one of them,
// it is put back.
class PolicyRenameAttack : public Attack {
 public:
  explicit PolicyRenameAttack(const AttackEnv& env) : dir_(env.backing.get()) {
    make_dir(dir_, "x");
    make_dir(dir_, "x/secret");
    // O_NOATIME: reading the bait must not itself count as a change outside.
    UniqueFd in(open(env.secret.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC));
    char buf[4096];
    ssize_t n = in.valid() ? read(in.get(), buf, sizeof buf) : -1;
    if (n <= 0) throw SetupError("cannot read the canary secret");
    make_regular(dir_, "x/secret/token", std::string_view(buf, static_cast<size_t>(n)));
    make_regular(dir_, "f", "a file\n");
    make_dir(dir_, "y");
    make_dir(dir_, "y/z");
  }
  void step() override {
    attempted();
    if (renameat2(dir_, "x", dir_, "f", RENAME_EXCHANGE) == 0) {
      missing_since_ = {};
      return;
    }
    if (errno != ENOENT) return (void)failed(-1);
    // The victim moved one of them to y/z/t. Left there for a few milliseconds (long enough for
    // the victim to look inside), then put back where its name is free.
    auto now = std::chrono::steady_clock::now();
    if (missing_since_ == std::chrono::steady_clock::time_point{}) missing_since_ = now;
    if (now - missing_since_ < std::chrono::milliseconds(3)) return;
    const char* free_name = faccessat(dir_, "f", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? "x" : "f";
    renameat(dir_, "y/z/t", dir_, free_name);
    missing_since_ = {};
  }

 private:
  int dir_;
  std::chrono::steady_clock::time_point missing_since_{};
};

// Another user (root here) puts a private 0600 file holding the canary secret at names the
// victim, a second user of the mount, looks up and then creates with O_CREAT, and takes it away.
class SecondUserAttack : public Attack {
 public:
  explicit SecondUserAttack(const AttackEnv& env) : dir_(env.backing.get()) {
    UniqueFd in(open(env.secret.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC));
    char buf[4096];
    ssize_t n = in.valid() ? read(in.get(), buf, sizeof buf) : -1;
    if (n <= 0) throw SetupError("cannot read the canary secret");
    secret_.assign(buf, static_cast<size_t>(n));
  }
  void step() override {
    attempted();
    std::string name = "c" + std::to_string(n_++ % 8);
    UniqueFd fd(openat(dir_, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd.valid()) return (void)failed(-1);
    if (write(fd.get(), secret_.data(), secret_.size()) < 0) g_attack_errors.add(errno);
    fd = UniqueFd();
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    unlinkat(dir_, name.c_str(), 0);
  }

 private:
  int dir_;
  std::string secret_;
  uint64_t n_ = 0;
};

}  // namespace

std::unique_ptr<Attack> make_second_user_attack(const AttackEnv& env) {
  return std::make_unique<SecondUserAttack>(env);
}

std::unique_ptr<Attack> make_policy_rename_attack(const AttackEnv& env) {
  return std::make_unique<PolicyRenameAttack>(env);
}

std::unique_ptr<Attack> make_link_climb_attack(const AttackEnv& env) {
  return std::make_unique<LinkClimbAttack>(env);
}

std::unique_ptr<Attack> make_second_mount_attack(const AttackEnv& env) {
  return std::make_unique<SecondMountAttack>(env);
}

}  // namespace torture
