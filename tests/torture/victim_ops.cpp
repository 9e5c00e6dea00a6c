// The victim's operations, grouped by the scenario whose race window they walk into. Paths are
// built from the mount root and used the naive way on purpose: the daemon is what must hold.
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <mutex>

#include "victim.h"

namespace torture {

VictimStats g_victim;
std::string g_token;

bool failed(long rc) {
  g_victim.ops.fetch_add(1, std::memory_order_relaxed);
  if (rc >= 0) return false;
  g_victim.errors.add(errno);
  return true;
}

void scan(std::string_view data, const std::string& where) {
  size_t at = data.find(g_token);
  if (at == std::string_view::npos) return;
  size_t from = at > 40 ? at - 40 : 0;
  g_victim.leaks.add(where + ": \"" + printable(data.substr(from, 120)) + "\"");
}

void check_type(const struct stat& st, const std::string& where) {
  const char* kind = S_ISLNK(st.st_mode)    ? "symlink"
                     : S_ISFIFO(st.st_mode) ? "FIFO"
                     : S_ISCHR(st.st_mode)  ? "character device"
                     : S_ISBLK(st.st_mode)  ? "block device"
                     : S_ISSOCK(st.st_mode) ? "socket"
                                            : nullptr;
  if (kind) g_victim.surfaced.add(where + " is a " + kind);
}

namespace {

constexpr char kData[] = "victim data\n";

std::string path(const OpCtx& c, const std::string& rel) { return c.mnt + "/" + rel; }
std::string numbered(const char* prefix, const OpCtx& c, uint64_t k) {
  return prefix + std::to_string(c.tid) + "_" + std::to_string(k);
}

void fstat_check(int fd, const std::string& where) {
  struct stat st;
  if (!failed(fstat(fd, &st))) check_type(st, where);
}

void lstat_check(const std::string& p) {
  struct stat st;
  if (!failed(lstat(p.c_str(), &st))) check_type(st, p);
}

void read_all(int fd, const std::string& where) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (!failed(n)) scan({buf, static_cast<size_t>(n)}, "read " + where);
}

void write_file(const std::string& p, int flags) {
  UniqueFd fd(open(p.c_str(), flags | O_CLOEXEC, 0644));
  if (failed(fd.get())) return;
  fstat_check(fd.get(), p);
  failed(write(fd.get(), kData, sizeof kData - 1));
}

void read_file(const std::string& p, int flags) {
  UniqueFd fd(open(p.c_str(), flags | O_CLOEXEC));
  if (failed(fd.get())) return;
  fstat_check(fd.get(), p);
  read_all(fd.get(), p);
}

// Lists a directory, checks every name, and optionally reads the first few entries.
void list_dir(const std::string& p, bool read_entries) {
  DIR* d = opendir(p.c_str());
  if (failed(d ? 0 : -1)) return;
  int read_count = 0;
  for (dirent* e; (e = readdir(d));) {
    scan(e->d_name, "readdir " + p);
    bool plain = e->d_type == DT_REG || e->d_type == DT_UNKNOWN;
    if (read_entries && plain && read_count++ < 16)
      read_file(p + "/" + e->d_name, O_RDONLY | O_NONBLOCK);
  }
  closedir(d);
}

void read_xattrs(const std::string& p) {
  char buf[4096];
  ssize_t n = getxattr(p.c_str(), "user.canary", buf, sizeof buf);
  if (!failed(n)) scan({buf, static_cast<size_t>(n)}, "getxattr " + p);
  n = listxattr(p.c_str(), buf, sizeof buf);
  if (!failed(n)) scan({buf, static_cast<size_t>(n)}, "listxattr " + p);
}

const timespec kOldTimes[2] = {{1000, 0}, {1000, 0}};

// Every metadata change the sandbox can make, by name (these follow symlinks).
std::vector<Op> metadata_by_name(const std::string& name) {
  return {
      {"truncate", [=](const OpCtx& c) { failed(truncate(path(c, name).c_str(), 0)); }},
      {"chmod",
       [=](const OpCtx& c) { failed(chmod(path(c, name).c_str(), (c.n & 2) ? 04777 : 0666)); }},
      {"chown", [=](const OpCtx& c) { failed(chown(path(c, name).c_str(), 1111, 1111)); }},
      {"utimens",
       [=](const OpCtx& c) { failed(utimensat(AT_FDCWD, path(c, name).c_str(), kOldTimes, 0)); }},
      {"setxattr",
       [=](const OpCtx& c) { failed(setxattr(path(c, name).c_str(), "user.victim", "v", 1, 0)); }},
      {"removexattr",
       [=](const OpCtx& c) { failed(removexattr(path(c, name).c_str(), "user.canary")); }},
  };
}

// The same changes through an fd the victim opened by name.
void metadata_by_fd(const std::string& p) {
  UniqueFd fd(open(p.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (failed(fd.get())) return;
  fstat_check(fd.get(), p);
  read_all(fd.get(), p);
  failed(ftruncate(fd.get(), 0));
  failed(fchmod(fd.get(), 04755));
  failed(fchown(fd.get(), 2222, 2222));
  failed(futimens(fd.get(), kOldTimes));
  failed(fsetxattr(fd.get(), "user.victim", "v", 1, 0));
}

void append(std::vector<Op>& to, std::vector<Op> more) {
  for (auto& op : more) to.push_back(std::move(op));
}

}  // namespace

std::vector<Op> results_ops(const std::string& name, bool hardlink_extras) {
  std::vector<Op> ops = {
      {"create-trunc",
       [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_CREAT | O_TRUNC); }},
      {"read", [=](const OpCtx& c) { read_file(path(c, name), O_RDONLY | O_NONBLOCK); }},
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, name)); }},
  };
  if (hardlink_extras) {
    append(ops,
           {
               {"trunc", [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_TRUNC); }},
               {"truncate", [=](const OpCtx& c) { failed(truncate(path(c, name).c_str(), 0)); }},
               {"chmod", [=](const OpCtx& c) { failed(chmod(path(c, name).c_str(), 0600)); }},
           });
  }
  return ops;
}

std::vector<Op> subdir_ops(const std::string& dir) {
  return {
      {"create",
       [=](const OpCtx& c) {
         write_file(path(c, dir + "/" + numbered("v", c, c.n % 64)), O_WRONLY | O_CREAT | O_TRUNC);
       }},
      {"create-excl",
       [=](const OpCtx& c) {
         std::string p = path(c, dir + "/" + numbered("e", c, c.n % 64));
         failed(unlink(p.c_str()));
         write_file(p, O_WRONLY | O_CREAT | O_EXCL);
       }},
      {"mkdir",
       [=](const OpCtx& c) {
         failed(mkdir(path(c, dir + "/" + numbered("s", c, c.n % 16)).c_str(), 0755));
         failed(rmdir(path(c, dir + "/" + numbered("s", c, (c.n + 8) % 16)).c_str()));
       }},
      {"deep",
       [=](const OpCtx& c) {
         write_file(path(c, dir + "/x/" + numbered("deep", c, 0)), O_WRONLY | O_CREAT | O_TRUNC);
       }},
      {"readdir", [=](const OpCtx& c) { list_dir(path(c, dir), false); }},
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, dir)); }},
      {"chmod",
       [=](const OpCtx& c) {
         failed(chmod(path(c, dir + "/" + numbered("v", c, c.n % 64)).c_str(), 0640));
       }},
  };
}

std::vector<Op> replace_ops(const std::string& name) {
  std::vector<Op> ops = {
      {"write", [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_NONBLOCK); }},
      {"write-trunc", [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_TRUNC); }},
      {"fd-metadata", [=](const OpCtx& c) { metadata_by_fd(path(c, name)); }},
      {"read", [=](const OpCtx& c) { read_file(path(c, name), O_RDONLY | O_NONBLOCK); }},
      {"xattrs", [=](const OpCtx& c) { read_xattrs(path(c, name)); }},
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, name)); }},
  };
  append(ops, metadata_by_name(name));
  return ops;
}

std::vector<Op> read_flip_ops(const std::string& file, const std::string& dir) {
  return {
      {"read", [=](const OpCtx& c) { read_file(path(c, file), O_RDONLY | O_NONBLOCK); }},
      {"readdir", [=](const OpCtx& c) { list_dir(path(c, dir), true); }},
      {"readdir-root", [=](const OpCtx& c) { list_dir(c.mnt, false); }},
      {"readlink",
       [=](const OpCtx& c) {
         char buf[4096];
         ssize_t n = readlink(path(c, file).c_str(), buf, sizeof buf);
         if (!failed(n)) scan({buf, static_cast<size_t>(n)}, "readlink " + path(c, file));
       }},
      {"xattrs", [=](const OpCtx& c) { read_xattrs(path(c, file)); }},
      {"lstat",
       [=](const OpCtx& c) {
         lstat_check(path(c, file));
         lstat_check(path(c, dir));
       }},
  };
}

std::vector<Op> rename_out_ops(const std::string& dir) {
  return {
      // A held directory fd is what a long-running tool has (a build writing into its output
      // dir); every create through it targets the daemon's node for that directory.
      {"held-dirfd",
       [=](const OpCtx& c) {
         UniqueFd dfd(open(path(c, dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
         if (failed(dfd.get())) return;
         for (int k = 0; k < 16 && !stopping(); ++k) {
           std::string name = numbered("h", c, c.n) + "_" + std::to_string(k);
           UniqueFd f(
               openat(dfd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
           if (!failed(f.get())) failed(write(f.get(), kData, sizeof kData - 1));
           if (k % 4 == 3) failed(mkdirat(dfd.get(), (name + "d").c_str(), 0755));
         }
       }},
      {"path-create",
       [=](const OpCtx& c) {
         write_file(path(c, dir + "/" + numbered("p", c, c.n)), O_WRONLY | O_CREAT | O_EXCL);
       }},
      {"path-mkdir",
       [=](const OpCtx& c) {
         failed(mkdir(path(c, dir + "/" + numbered("pd", c, c.n)).c_str(), 0755));
       }},
  };
}

// Threat 39: the victim holds the directory (a dirfd, as a shell's cwd or a build's output dir)
// while it is moved out; names and attributes of what the host puts there must never show.
std::vector<Op> rename_out_peek_ops(const std::string& dir) {
  return {
      {"held-dirfd-peek",
       [=](const OpCtx& c) {
         UniqueFd dfd(open(path(c, dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
         if (failed(dfd.get())) return;
         std::string planted = "canary-" + g_token + "-secret";
         for (int k = 0; k < 32 && !stopping(); ++k) {
           struct stat st;
           if (!failed(fstatat(dfd.get(), planted.c_str(), &st, AT_SYMLINK_NOFOLLOW))) {
             g_victim.leaks.add("stat of " + planted + " in a directory moved out of BACKING (" +
                                std::to_string(st.st_size) + " bytes)");
           }
           // Raw getdents64: fdopendir would fstat the directory first.
           if (failed(lseek(dfd.get(), 0, SEEK_SET))) continue;
           alignas(8) char buf[4096];
           long n = syscall(SYS_getdents64, dfd.get(), buf, sizeof buf);
           if (failed(n)) continue;
           for (long at = 0; at < n;) {
             const char* name = buf + at + 19;  // d_ino 8, d_off 8, d_reclen 2, d_type 1
             scan(name, "getdents of a held directory");
             unsigned short reclen;
             memcpy(&reclen, buf + at + 16, sizeof reclen);
             at += reclen;
           }
         }
       }},
  };
}

std::vector<Op> fifo_ops(const std::string& name) {
  return {
      // Blocking opens on purpose: if a FIFO is surfaced the victim blocks (and is kicked out by
      // a signal); if the daemon opens one itself, its thread blocks, which is what we detect.
      {"open-wronly-creat", [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_CREAT); }},
      {"open-rdonly", [=](const OpCtx& c) { read_file(path(c, name), O_RDONLY); }},
      {"open-nonblock", [=](const OpCtx& c) { read_file(path(c, name), O_RDONLY | O_NONBLOCK); }},
      {"create-trunc",
       [=](const OpCtx& c) { write_file(path(c, name), O_WRONLY | O_CREAT | O_TRUNC); }},
      {"truncate", [=](const OpCtx& c) { failed(truncate(path(c, name).c_str(), 0)); }},
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, name)); }},
  };
}

std::vector<Op> device_ops(const std::string& name) {
  return {
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, name)); }},
      {"read", [=](const OpCtx& c) { read_file(path(c, name), O_RDONLY | O_NONBLOCK); }},
      {"write",
       [=](const OpCtx& c) {
         write_file(path(c, name), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK);
       }},
      {"readdir-root", [=](const OpCtx& c) { list_dir(c.mnt, false); }},
  };
}

std::vector<Op> mount_flip_ops(const std::string& dir) {
  return {
      {"readdir", [=](const OpCtx& c) { list_dir(path(c, dir), true); }},
      {"create",
       [=](const OpCtx& c) {
         write_file(path(c, dir + "/" + numbered("v", c, c.n % 8)), O_WRONLY | O_CREAT | O_TRUNC);
       }},
      {"unlink",
       [=](const OpCtx& c) {
         failed(unlink(path(c, dir + "/" + numbered("v", c, (c.n + 4) % 8)).c_str()));
       }},
      {"mkdir",
       [=](const OpCtx& c) {
         std::string p = path(c, dir + "/" + numbered("s", c, 0));
         if (!failed(mkdir(p.c_str(), 0755))) failed(rmdir(p.c_str()));
       }},
      {"lstat", [=](const OpCtx& c) { lstat_check(path(c, dir)); }},
  };
}

std::vector<Op> churn_ops(const std::string& dir) {
  return {
      {"readdir", [=](const OpCtx& c) { list_dir(path(c, dir), false); }},
      // Lookups of names that come and go, and of names that never exist: the daemon must not
      // keep an fd or a node for each of them.
      {"lookup-storm",
       [=](const OpCtx& c) {
         for (int k = 0; k < 64; ++k) {
           struct stat st;
           uint64_t i = (c.n * 64 + k) * 2654435761u % 2000;
           failed(lstat(path(c, dir + "/n" + std::to_string(i)).c_str(), &st));
           failed(lstat(path(c, dir + "/missing" + std::to_string(c.n * 64 + k)).c_str(), &st));
         }
       }},
      {"read",
       [=](const OpCtx& c) {
         read_file(path(c, dir + "/n" + std::to_string(c.n * 7919 % 2000)), O_RDONLY);
       }},
  };
}

}  // namespace torture

namespace torture {
namespace {

std::string canary_name() { return "canary-" + g_token + "-target"; }

// The chain and the link of the link-climb scenario, made once through the mount: from x4,
// ../../../../outside/<canary> climbs exactly to the mount root, where outside/ is a directory of
// the mount. The attacker moves x4 two levels up, where the same target would reach the run's
// real outside directory.
void make_climb_chain(const std::string& mnt) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::string p = mnt;
    for (const char* d : {"/outside", "/x1", "/x1/x2", "/x1/x2/x3", "/x1/x2/x3/x4"}) {
      mkdir((mnt + d).c_str(), 0755);
    }
    std::string target = "../../../../outside/" + canary_name();
    if (symlink(target.c_str(), (mnt + "/x1/x2/x3/x4/l").c_str()) != 0) {
      g_victim.errors.add(errno);
    }
  });
}

// Through a directory fd the victim holds, as a process with its working directory there does.
void through_held_dir(const std::string& dir, bool write) {
  UniqueFd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (failed(d.get())) return;
  UniqueFd f(
      openat(d.get(), "l", (write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY) | O_CLOEXEC, 0644));
  if (failed(f.get())) return;
  if (write) {
    failed(::write(f.get(), kData, sizeof kData - 1));
  } else {
    read_all(f.get(), dir + "/l");
  }
}

}  // namespace

std::vector<Op> link_climb_ops() {
  const std::string deep = "x1/x2/x3/x4", moved = "y/x4";
  return {
      {"write-deep",
       [=](const OpCtx& c) {
         make_climb_chain(c.mnt);
         write_file(path(c, deep + "/l"), O_WRONLY | O_CREAT | O_TRUNC);
       }},
      {"write-moved",
       [=](const OpCtx& c) { write_file(path(c, moved + "/l"), O_WRONLY | O_CREAT | O_TRUNC); }},
      {"read-deep", [=](const OpCtx& c) { read_file(path(c, deep + "/l"), O_RDONLY); }},
      {"read-moved", [=](const OpCtx& c) { read_file(path(c, moved + "/l"), O_RDONLY); }},
      {"held-write-deep", [=](const OpCtx& c) { through_held_dir(path(c, deep), true); }},
      {"held-read-moved", [=](const OpCtx& c) { through_held_dir(path(c, moved), false); }},
  };
}

std::vector<Op> policy_rename_ops() {
  return {
      {"rename-and-read",
       [](const OpCtx& c) {
         if (failed(rename(path(c, "f").c_str(), path(c, "y/z/t").c_str()))) return;
         read_file(path(c, "y/z/t/secret/token"), O_RDONLY);
       }},
      {"read-moved", [](const OpCtx& c) { read_file(path(c, "y/z/t/secret/token"), O_RDONLY); }},
      {"list-moved", [](const OpCtx& c) { list_dir(path(c, "y/z/t"), false); }},
      {"rename-back",
       [](const OpCtx& c) { failed(rename(path(c, "y/z/t").c_str(), path(c, "f").c_str())); }},
  };
}

// As a second user (torture-victim --uid): names it looks up first (the kernel caches "no such
// name") and then creates with O_CREAT, while another user's 0600 file may appear there.
// Opening that file at all is the escape.
std::vector<Op> second_user_ops() {
  auto create = [](const OpCtx& c, int flags) {
    std::string p = path(c, "c" + std::to_string(c.n % 8));
    struct stat st;
    failed(lstat(p.c_str(), &st));  // a negative entry, as before a real create
    UniqueFd fd(open(p.c_str(), flags | O_CLOEXEC, 0644));
    if (failed(fd.get())) return;
    if (fstat(fd.get(), &st) == 0 && st.st_uid != getuid()) {
      g_victim.leaks.add(p + ": opened another user's 0600 file (uid " + std::to_string(st.st_uid) +
                         ")");
    }
    if ((flags & O_ACCMODE) != O_WRONLY) read_all(fd.get(), p);
    if (st.st_uid == getuid()) unlink(p.c_str());
  };
  return {
      {"create-rdwr", [=](const OpCtx& c) { create(c, O_CREAT | O_RDWR); }},
      {"create-trunc", [=](const OpCtx& c) { create(c, O_CREAT | O_WRONLY | O_TRUNC); }},
      {"create-rdonly", [=](const OpCtx& c) { create(c, O_CREAT | O_RDONLY); }},
  };
}

std::vector<Op> second_mount_ops() {
  return {
      {"lstat-planted",
       [](const OpCtx& c) {
         for (const char* n : {"l-plant", "p-plant", "s-plant"}) lstat_check(path(c, n));
       }},
      {"write-link", [](const OpCtx& c) { write_file(path(c, "l-plant"), O_WRONLY | O_TRUNC); }},
      {"read-link", [](const OpCtx& c) { read_file(path(c, "l-plant"), O_RDONLY); }},
      // A blocking open on purpose: a FIFO another mount made would never see a writer here.
      {"open-fifo",
       [](const OpCtx& c) {
         UniqueFd fd(open(path(c, "p-plant").c_str(), O_RDONLY | O_CLOEXEC));
         if (failed(fd.get()) && errno == EINTR) {
           g_victim.surfaced.add(path(c, "p-plant") + ": open blocked on a FIFO it did not make");
         }
       }},
      {"connect-socket",
       [](const OpCtx& c) {
         UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
         sockaddr_un addr{};
         addr.sun_family = AF_UNIX;
         std::string at = path(c, "s-plant");
         if (at.size() >= sizeof addr.sun_path) return;
         memcpy(addr.sun_path, at.c_str(), at.size() + 1);
         if (!failed(connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr))) {
           g_victim.leaks.add(at + ": connected to a socket another mount made");
         }
       }},
  };
}

}  // namespace torture
