// Attacks with special files, mounts and sheer volume: threats 8 (a bind mount of an outside
// directory appearing inside the backing directory), 9 (FIFO swapped in: a daemon that opens it
// blocks forever), 10 (device nodes and sockets), 18 (resource exhaustion: name churn).
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "attack.h"

namespace torture {

void make_regular(int dirfd, const char* name, std::string_view content) {
  UniqueFd fd(openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    g_attack_errors.add(errno);
    return;
  }
  if (!content.empty() && write(fd.get(), content.data(), content.size()) < 0)
    g_attack_errors.add(errno);
}

void make_dir(int dirfd, const char* name) {
  if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST) g_attack_errors.add(errno);
}

void remove_any(int dirfd, const char* name) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR) return;
  UniqueFd sub(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (sub.valid()) {
    DIR* d = fdopendir(dup(sub.get()));
    for (dirent* e; d && (e = readdir(d));)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) remove_any(sub.get(), e->d_name);
    if (d) closedir(d);
  }
  unlinkat(dirfd, name, AT_REMOVEDIR);
}

namespace {

constexpr const char* kTmp = ".tmp-special";

// The name flips between a regular file, a FIFO put in place by rename, nothing at all, and a
// FIFO created right at the name: the last one catches a daemon whose create path opens whatever
// appeared since its lookup (an O_WRONLY open of a FIFO without a reader never returns).
class FifoAttack : public Attack {
 public:
  FifoAttack(const AttackEnv& env, std::string name)
      : dir_(env.backing.get()), name_(std::move(name)) {
    make_regular(dir_, name_.c_str(), "benign\n");
  }

  void step() override {
    unlinkat(dir_, kTmp, 0);
    if (!failed(mkfifoat(dir_, kTmp, 0666)) && !failed(renameat(dir_, kTmp, dir_, name_.c_str())))
      attempted();
    failed(unlinkat(dir_, name_.c_str(), 0));
    if (!failed(mkfifoat(dir_, name_.c_str(), 0666))) attempted();
    failed(unlinkat(dir_, name_.c_str(), 0));
    make_regular(dir_, kTmp, kEmpty);
    failed(renameat(dir_, kTmp, dir_, name_.c_str()));
  }

 private:
  int dir_;
  std::string name_;
};

// The name flips between a regular file, character devices (/dev/null's and /dev/zero's numbers,
// harmless if a broken daemon opens them) and a unix socket.
class DeviceAttack : public Attack {
 public:
  DeviceAttack(const AttackEnv& env, std::string name)
      : dir_(env.backing.get()), name_(std::move(name)), sock_path_(env.backing_path + "/" + kTmp) {
    make_regular(dir_, name_.c_str(), "benign\n");
    if (mknodat(dir_, ".probe", S_IFCHR | 0666, makedev(1, 3)) != 0)
      throw SetupError(std::string("mknod: ") + strerror(errno));
    unlinkat(dir_, ".probe", 0);
  }

  void step() override {
    switch (n_++ % 4) {
      case 0: place(mknodat(dir_, kTmp, S_IFCHR | 0666, makedev(1, 3))); break;
      case 1: place(mknodat(dir_, kTmp, S_IFCHR | 0666, makedev(1, 5))); break;
      case 2: place(make_socket()); break;
      default: make_regular(dir_, kTmp, kEmpty); failed(renameat(dir_, kTmp, dir_, name_.c_str()));
    }
  }

 private:
  void place(int rc) {
    if (!failed(rc) && !failed(renameat(dir_, kTmp, dir_, name_.c_str()))) attempted();
    unlinkat(dir_, kTmp, 0);
  }
  // A socket node can only be made by bind(); the socket itself is closed right away, the node
  // stays.
  int make_socket() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (sock_path_.size() >= sizeof addr.sun_path) return errno = ENAMETOOLONG, -1;
    memcpy(addr.sun_path, sock_path_.c_str(), sock_path_.size() + 1);
    UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return -1;
    return bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }

  int dir_;
  std::string name_, sock_path_;
  uint64_t n_ = 0;
};

// A bind mount of the outside directory appearing on a directory inside the backing tree and
// vanishing again (threat 8): same filesystem, same st_dev, only the mount id differs. Mounted
// through the held fd of the backing dir (its /proc/self/fd link), so it lands on the mount the
// daemon serves from, underneath the bind confinefs puts on BACKING's path.
class MountFlipAttack : public Attack {
 public:
  MountFlipAttack(const AttackEnv& env, std::string dir)
      : source_(env.outside_dir),
        point_("/proc/self/fd/" + std::to_string(env.backing.get()) + "/" + dir) {
    make_dir(env.backing.get(), dir.c_str());
    make_regular(env.backing.get(), (dir + "/hello").c_str(), "benign\n");
    if (mount(source_.c_str(), point_.c_str(), nullptr, MS_BIND, nullptr) != 0)
      throw SetupError(std::string("bind mount: ") + strerror(errno));
    umount2(point_.c_str(), MNT_DETACH);
  }

  void step() override {
    if (failed(mount(source_.c_str(), point_.c_str(), nullptr, MS_BIND, nullptr))) return;
    attempted();
    failed(umount2(point_.c_str(), MNT_DETACH));
  }

  // A mount left behind would keep the outside directory reachable after the run.
  void finish() override {
    while (umount2(point_.c_str(), MNT_DETACH) == 0) {
    }
  }

 private:
  std::string source_, point_;
};

// Volume rather than trickery: thousands of names created, renamed and removed while the victim
// lists and looks them up; afterwards the daemon's fd count must come back down (threat 18).
class ChurnAttack : public Attack {
 public:
  ChurnAttack(const AttackEnv& env, std::string dir) {
    make_dir(env.backing.get(), dir.c_str());
    dir_.reset(openat(env.backing.get(), dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!dir_.valid()) throw SetupError(std::string("open churn dir: ") + strerror(errno));
    for (int i = 0; i < kNames; ++i) make_regular(dir_.get(), name(i).c_str(), "benign\n");
  }

  void step() override {
    int i = static_cast<int>(rng_() % kNames);
    std::string a = name(i), b = a + ".moved";
    if (!failed(renameat(dir_.get(), a.c_str(), dir_.get(), b.c_str()))) attempted();
    failed(unlinkat(dir_.get(), b.c_str(), 0));
    make_regular(dir_.get(), a.c_str(), kEmpty);
    attempted();
  }

 private:
  static constexpr int kNames = 2000;
  static std::string name(int i) { return "n" + std::to_string(i); }
  UniqueFd dir_;
  std::minstd_rand rng_{42};
};

}  // namespace

std::unique_ptr<Attack> make_fifo_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<FifoAttack>(env, std::move(name));
}
std::unique_ptr<Attack> make_device_attack(const AttackEnv& env, std::string name) {
  return std::make_unique<DeviceAttack>(env, std::move(name));
}
std::unique_ptr<Attack> make_mount_flip_attack(const AttackEnv& env, std::string dir) {
  return std::make_unique<MountFlipAttack>(env, std::move(dir));
}
std::unique_ptr<Attack> make_churn_attack(const AttackEnv& env, std::string dir) {
  return std::make_unique<ChurnAttack>(env, std::move(dir));
}

}  // namespace torture
