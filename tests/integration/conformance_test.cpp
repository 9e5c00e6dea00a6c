// Conformance: the same sequence of system calls run on a confinefs mount and on
// a native directory of the same host filesystem must give the same return values, errno and data
// for everything the default policy allows. Each test builds a table of steps; the comparer runs
// every step on the native directory and then on the mount and reports the first divergence (and
// any further ones). Steps may also state what the native run must give, so a table that stops
// testing what it claims (both sides failing the same way) fails too.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace {

namespace fs = std::filesystem;
using confinefs::testing::Mount;

constexpr int kAny = -1;  // Step::expect: the native outcome is not checked

struct Outcome {
  long ret = 0;  // -1 on failure
  int err = 0;   // errno on failure, 0 on success
  std::string data;
  bool operator==(const Outcome&) const = default;
};

std::string escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 160; ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += static_cast<char>(ch);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    }
  }
  if (s.size() > 160) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::ostream& operator<<(std::ostream& o, const Outcome& r) {
  if (r.ret < 0) {
    const char* name = strerrorname_np(r.err);
    o << "-1 errno=" << (name ? name : std::to_string(r.err));
  } else {
    o << r.ret;
  }
  if (!r.data.empty()) o << " data=\"" << escape(r.data) << "\"";
  return o;
}

Outcome result(long r, int saved_errno, std::string data = {}) {
  if (r < 0) return Outcome{-1, saved_errno, {}};
  return Outcome{r, 0, std::move(data)};
}

// The directory a sequence runs in, plus the fds it opened, by name.
class Ctx {
 public:
  explicit Ctx(fs::path root) : root_(std::move(root)) {}
  ~Ctx() {
    for (auto& [name, fd] : fds_) ::close(fd);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;

  std::string p(const std::string& rel) const {
    return rel.empty() ? root_.string() : (root_ / rel).string();
  }
  int fd(const std::string& name) const {
    auto it = fds_.find(name);
    return it == fds_.end() ? -1 : it->second;
  }
  void set_fd(const std::string& name, int fd) {
    close_fd(name);
    fds_[name] = fd;
  }
  int close_fd(const std::string& name) {
    auto it = fds_.find(name);
    if (it == fds_.end()) return 0;
    int r = ::close(it->second);
    fds_.erase(it);
    return r;
  }

 private:
  fs::path root_;
  std::map<std::string, int> fds_;
};

struct Step {
  std::string what;
  std::function<Outcome(Ctx&)> run;
  int expect = kAny;  // what the native run must give: 0 success, an errno, or kAny
};

// A step whose outcome is the return value of fn (a syscall) and errno.
Step call(std::string what, std::function<long(Ctx&)> fn, int expect = kAny) {
  return Step{std::move(what),
              [fn](Ctx& c) {
                errno = 0;
                long r = fn(c);
                int e = errno;
                return result(r, e);
              },
              expect};
}

Step open_(const std::string& name, const std::string& path, int flags, int expect = 0,
           mode_t mode = 0644) {
  std::ostringstream what;
  what << "open(" << path << ", 0" << std::oct << flags << std::dec << ") as " << name;
  return Step{what.str(),
              [=](Ctx& c) {
                int fd = ::open(c.p(path).c_str(), flags | O_CLOEXEC, mode);
                int e = errno;
                if (fd >= 0) c.set_fd(name, fd);
                return result(fd < 0 ? -1 : 0, e);
              },
              expect};
}

Step close_(const std::string& name) {
  return Step{"close(" + name + ")", [=](Ctx& c) { return result(c.close_fd(name), errno); }, 0};
}

Step write_(const std::string& name, const std::string& data, int expect = 0) {
  return call(
      "write(" + name + ", \"" + escape(data) + "\")",
      [=](Ctx& c) { return ::write(c.fd(name), data.data(), data.size()); }, expect);
}

Step pwrite_(const std::string& name, const std::string& data, off_t off, int expect = 0) {
  return call(
      "pwrite(" + name + ", " + std::to_string(data.size()) + " bytes, " + std::to_string(off) +
          ")",
      [=](Ctx& c) { return ::pwrite(c.fd(name), data.data(), data.size(), off); }, expect);
}

Step read_(const std::string& name, size_t n, int expect = 0) {
  return Step{"read(" + name + ", " + std::to_string(n) + ")",
              [=](Ctx& c) {
                std::string buf(n, '\0');
                ssize_t r = ::read(c.fd(name), buf.data(), n);
                int e = errno;
                if (r >= 0) buf.resize(r);
                return result(r, e, buf);
              },
              expect};
}

Step pread_(const std::string& name, size_t n, off_t off, int expect = 0) {
  return Step{"pread(" + name + ", " + std::to_string(n) + ", " + std::to_string(off) + ")",
              [=](Ctx& c) {
                std::string buf(n, '\0');
                ssize_t r = ::pread(c.fd(name), buf.data(), n, off);
                int e = errno;
                if (r >= 0) buf.resize(r);
                return result(r, e, buf);
              },
              expect};
}

Step lseek_(const std::string& name, off_t off, int whence, int expect = 0) {
  static const std::map<int, std::string> names = {{SEEK_SET, "SEEK_SET"},
                                                   {SEEK_CUR, "SEEK_CUR"},
                                                   {SEEK_END, "SEEK_END"},
                                                   {SEEK_DATA, "SEEK_DATA"},
                                                   {SEEK_HOLE, "SEEK_HOLE"}};
  return call(
      "lseek(" + name + ", " + std::to_string(off) + ", " + names.at(whence) + ")",
      [=](Ctx& c) { return ::lseek(c.fd(name), off, whence); }, expect);
}

std::string describe_stat(const struct stat& st) {
  std::ostringstream o;
  char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : '?';
  o << "type=" << type << " mode=0" << std::oct << (st.st_mode & 07777) << std::dec
    << " size=" << st.st_size << " nlink=" << st.st_nlink << " uid=" << st.st_uid
    << " gid=" << st.st_gid;
  return o.str();
}

Step stat_(const std::string& path, int expect = 0) {
  return Step{"stat(" + path + ")",
              [=](Ctx& c) {
                struct stat st {};
                int r = ::stat(c.p(path).c_str(), &st);
                int e = errno;
                return result(r, e, r == 0 ? describe_stat(st) : "");
              },
              expect};
}

Step fstat_(const std::string& name, int expect = 0) {
  return Step{"fstat(" + name + ")",
              [=](Ctx& c) {
                struct stat st {};
                int r = ::fstat(c.fd(name), &st);
                int e = errno;
                return result(r, e, r == 0 ? describe_stat(st) : "");
              },
              expect};
}

Step times_(const std::string& path) {
  return Step{"stat times(" + path + ")",
              [=](Ctx& c) {
                struct stat st {};
                int r = ::stat(c.p(path).c_str(), &st);
                int e = errno;
                std::ostringstream o;
                o << "atime=" << st.st_atim.tv_sec << "." << st.st_atim.tv_nsec
                  << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
                return result(r, e, r == 0 ? o.str() : "");
              },
              0};
}

// The whole content of a file, read through a fresh fd.
Step contents_(const std::string& path, int expect = 0) {
  return Step{"contents(" + path + ")",
              [=](Ctx& c) {
                int fd = ::open(c.p(path).c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0) return result(-1, errno);
                std::string all;
                char buf[65536];
                ssize_t r;
                while ((r = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, r);
                int e = errno;
                ::close(fd);
                if (r < 0) return result(-1, e);
                return result(static_cast<long>(all.size()), 0, all);
              },
              expect};
}

// Sorted "name:d_type" list of a directory, "." and ".." included.
Step readdir_(const std::string& path, int expect = 0) {
  return Step{"readdir(" + path + ")",
              [=](Ctx& c) {
                DIR* d = ::opendir(c.p(path).c_str());
                if (d == nullptr) return result(-1, errno);
                std::vector<std::string> names;
                errno = 0;
                while (dirent* e = ::readdir(d)) {
                  names.push_back(std::string(e->d_name) + ":" + std::to_string(e->d_type));
                }
                int e = errno;
                ::closedir(d);
                if (e != 0) return result(-1, e);
                std::sort(names.begin(), names.end());
                std::string all;
                for (auto& n : names) all += n + "/";
                return result(static_cast<long>(names.size()), 0, all);
              },
              expect};
}

Step mkdir_(const std::string& path, int expect = 0, mode_t mode = 0755) {
  return call(
      "mkdir(" + path + ")", [=](Ctx& c) { return ::mkdir(c.p(path).c_str(), mode); }, expect);
}
Step rmdir_(const std::string& path, int expect = 0) {
  return call(
      "rmdir(" + path + ")", [=](Ctx& c) { return ::rmdir(c.p(path).c_str()); }, expect);
}
Step unlink_(const std::string& path, int expect = 0) {
  return call(
      "unlink(" + path + ")", [=](Ctx& c) { return ::unlink(c.p(path).c_str()); }, expect);
}
Step rename_(const std::string& from, const std::string& to, unsigned flags, int expect) {
  std::string what = "renameat2(" + from + ", " + to;
  if (flags & RENAME_NOREPLACE) what += ", NOREPLACE";
  if (flags & RENAME_EXCHANGE) what += ", EXCHANGE";
  return call(
      what + ")",
      [=](Ctx& c) {
        return ::renameat2(AT_FDCWD, c.p(from).c_str(), AT_FDCWD, c.p(to).c_str(), flags);
      },
      expect);
}
Step put_(const std::string& path, const std::string& data) {
  return call(
      "put(" + path + ")",
      [=](Ctx& c) -> long {
        int fd = ::open(c.p(path).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return -1;
        ssize_t r = ::write(fd, data.data(), data.size());
        int e = errno;
        ::close(fd);
        errno = e;
        return r;
      },
      0);
}

Step setx_(const std::string& path, const std::string& name, const std::string& value, int flags,
           int expect = 0) {
  return call(
      "setxattr(" + path + ", " + name + ", \"" + escape(value) + "\", " + std::to_string(flags) +
          ")",
      [=](Ctx& c) {
        return ::setxattr(c.p(path).c_str(), name.c_str(), value.data(), value.size(), flags);
      },
      expect);
}
Step getx_(const std::string& path, const std::string& name, size_t size, int expect = 0) {
  return Step{"getxattr(" + path + ", " + name + ", " + std::to_string(size) + ")",
              [=](Ctx& c) {
                std::string buf(size, '\0');
                ssize_t r =
                    ::getxattr(c.p(path).c_str(), name.c_str(), size ? buf.data() : nullptr, size);
                int e = errno;
                if (r >= 0 && size) buf.resize(r);
                return result(r, e, size ? buf : "");
              },
              expect};
}
Step listx_(const std::string& path, size_t size, int expect = 0) {
  return Step{"listxattr(" + path + ", " + std::to_string(size) + ")",
              [=](Ctx& c) {
                std::string buf(size, '\0');
                ssize_t r = ::listxattr(c.p(path).c_str(), size ? buf.data() : nullptr, size);
                int e = errno;
                if (r < 0 || size == 0) return result(r, e);
                std::vector<std::string> names;
                for (size_t i = 0; i < static_cast<size_t>(r);) {
                  std::string n(buf.data() + i);
                  names.push_back(n);
                  i += n.size() + 1;
                }
                std::sort(names.begin(), names.end());
                std::string all;
                for (auto& n : names) all += n + ",";
                return result(r, e, all);
              },
              expect};
}
Step rmx_(const std::string& path, const std::string& name, int expect = 0) {
  return call(
      "removexattr(" + path + ", " + name + ")",
      [=](Ctx& c) { return ::removexattr(c.p(path).c_str(), name.c_str()); }, expect);
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& ch : s) {
    x = x * 1103515245u + 12345u;
    ch = static_cast<char>(x >> 16);
  }
  return s;
}

bool native_matches(const Outcome& o, int expect) {
  if (expect == kAny) return true;
  if (expect == 0) return o.ret >= 0;
  return o.ret < 0 && o.err == expect;
}

std::string expect_name(int expect) {
  if (expect == 0) return "success";
  const char* n = strerrorname_np(expect);
  return n ? n : std::to_string(expect);
}

// Runs the table on both trees, native first, step by step.
void compare(const std::vector<Step>& steps, const fs::path& native, const fs::path& mounted) {
  Ctx n(native), m(mounted);
  int divergences = 0;
  std::ostringstream further;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    Outcome a = s.run(n);
    Outcome b = s.run(m);
    if (!native_matches(a, s.expect)) {
      ADD_FAILURE() << "table error: native step #" << i << " " << s.what << " gave " << a
                    << ", the table expects " << expect_name(s.expect);
    }
    if (a == b) continue;
    if (divergences == 0) {
      ADD_FAILURE() << "first divergence at step #" << i << " " << s.what << "\n  native:    " << a
                    << "\n  confinefs: " << b;
    } else {
      further << "  step #" << i << " " << s.what << "\n    native:    " << a
              << "\n    confinefs: " << b << "\n";
    }
    ++divergences;
  }
  if (divergences > 1) {
    ADD_FAILURE() << (divergences - 1) << " further divergence(s):\n" << further.str();
  }
}

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_umask_ = ::umask(022);
    mount_ = std::make_unique<Mount>();
    ASSERT_TRUE(mount_->ok()) << "confinefs did not mount";
    native_ = mount_->outside() / "native";
    fs::create_directory(native_);
    ::chmod(native_.c_str(), 0755);
    ::chmod(mount_->backing().c_str(), 0755);
  }
  void TearDown() override {
    mount_.reset();
    ::umask(saved_umask_);
  }
  void check(const std::vector<Step>& steps) { compare(steps, native_, mount_->mnt()); }

  std::unique_ptr<Mount> mount_;
  fs::path native_;
  mode_t saved_umask_ = 022;
};

TEST_F(Conformance, OpenFlags) {
  check({
      stat_(""),
      open_("f", "f", O_CREAT | O_WRONLY | O_TRUNC),
      write_("f", "hello world"),
      close_("f"),
      fstat_("f", EBADF),
      stat_("f"),
      open_("x", "f", O_CREAT | O_EXCL | O_WRONLY, EEXIST),
      open_("x", "f", O_RDONLY | O_DIRECTORY, ENOTDIR),
      open_("x", "missing/f", O_CREAT | O_WRONLY, ENOENT),
      open_("x", "missing", O_RDONLY, ENOENT),
      open_("x", "f/x", O_RDONLY, ENOTDIR),
      open_("x", "f/", O_RDONLY, ENOTDIR),
      open_("x", "newfile/", O_CREAT | O_WRONLY, EISDIR),
      stat_("newfile", ENOENT),
      // creat() on an existing file truncates it.
      open_("c", "f", O_CREAT | O_WRONLY | O_TRUNC),
      fstat_("c"),
      write_("c", "abc"),
      close_("c"),
      contents_("f"),
      // O_APPEND: every write lands at the end, whatever the offset.
      open_("a", "f", O_WRONLY | O_APPEND),
      lseek_("a", 0, SEEK_SET),
      write_("a", "def"),
      lseek_("a", 0, SEEK_CUR),
      pwrite_("a", "ghi", 0),
      close_("a"),
      contents_("f"),
      open_("rw", "f", O_RDWR),
      read_("rw", 4),
      write_("rw", "XY"),
      lseek_("rw", 0, SEEK_SET),
      read_("rw", 100),
      read_("rw", 100),
      close_("rw"),
      // Access modes are enforced on the fd.
      open_("ro", "f", O_RDONLY),
      write_("ro", "no", EBADF),
      call(
          "ftruncate(ro, 0)", [](Ctx& c) { return ::ftruncate(c.fd("ro"), 0); }, EINVAL),
      close_("ro"),
      open_("wo", "f", O_WRONLY),
      read_("wo", 10, EBADF),
      close_("wo"),
      // Directories.
      mkdir_("d"),
      open_("x", "d", O_WRONLY, EISDIR),
      open_("x", "d", O_RDWR | O_CREAT, EISDIR),
      open_("dir", "d", O_RDONLY | O_DIRECTORY),
      read_("dir", 10, EISDIR),
      call(
          "fsync(dir)", [](Ctx& c) { return ::fsync(c.fd("dir")); }, 0),
      close_("dir"),
      open_("dot", ".", O_RDONLY),
      fstat_("dot"),
      close_("dot"),
      // New files: mode from the argument and the umask.
      open_("g", "g", O_CREAT | O_EXCL | O_WRONLY, 0, 0600),
      fstat_("g"),
      close_("g"),
      // O_CREAT without O_EXCL opens an existing file, keeping its content and mode.
      open_("k", "g", O_CREAT | O_RDWR, 0, 0666),
      fstat_("k"),
      close_("k"),
      call(
          "mknod(n, S_IFREG|0640)",
          [](Ctx& c) { return ::mknod(c.p("n").c_str(), S_IFREG | 0640, 0); }, 0),
      stat_("n"),
      call(
          "mknod(n) again", [](Ctx& c) { return ::mknod(c.p("n").c_str(), S_IFREG | 0640, 0); },
          EEXIST),
      readdir_(""),
  });
}

// Linux truncates on open(O_RDONLY|O_TRUNC) when the caller may write the file.
TEST_F(Conformance, OpenReadOnlyWithTruncTruncates) {
  check({
      put_("f", "some data"),
      open_("rt", "f", O_RDONLY | O_TRUNC),
      fstat_("rt"),
      read_("rt", 10),
      close_("rt"),
      stat_("f"),
  });
}

// The mode of a new file or directory is the requested mode less the *caller's* umask only (the
// daemon's own umask must not apply on top of it).
TEST_F(Conformance, CreateModeUsesOnlyTheCallersUmask) {
  check({
      call(
          "umask(0)", [](Ctx&) { return ::umask(0) * 0L; }, 0),
      open_("h", "h", O_CREAT | O_EXCL | O_WRONLY, 0, 0777),
      close_("h"),
      mkdir_("d0", 0, 0777),
      call(
          "mknod(n0, S_IFREG|0666)",
          [](Ctx& c) { return ::mknod(c.p("n0").c_str(), S_IFREG | 0666, 0); }, 0),
      call(
          "umask(027)", [](Ctx&) { return ::umask(027) * 0L; }, 0),
      open_("i", "i", O_CREAT | O_EXCL | O_WRONLY, 0, 0777),
      close_("i"),
      mkdir_("d1", 0, 0777),
      call(
          "umask(002)", [](Ctx&) { return ::umask(002) * 0L; }, 0),
      open_("j", "j", O_CREAT | O_EXCL | O_WRONLY, 0, 0666),
      close_("j"),
      mkdir_("d2", 0, 0777),
      call(
          "umask(022)", [](Ctx&) { return ::umask(022) * 0L; }, 0),
      stat_("h"),
      stat_("d0"),
      stat_("n0"),
      stat_("i"),
      stat_("d1"),
      stat_("j"),
      stat_("d2"),
  });
}

TEST_F(Conformance, ReadWriteSeek) {
  const std::string big = pattern(3 * 1024 * 1024 + 17, 1);
  check({
      open_("f", "f", O_CREAT | O_RDWR),
      write_("f", big),
      fstat_("f"),
      pread_("f", big.size() + 100, 0),
      pread_("f", 100, big.size() - 50),
      pread_("f", 100, big.size()),
      pread_("f", 100, big.size() + 5000),
      lseek_("f", 0, SEEK_CUR),
      lseek_("f", -10, SEEK_END),
      read_("f", 100),
      lseek_("f", -1, SEEK_SET, EINVAL),
      lseek_("f", 5, SEEK_CUR),
      lseek_("f", 1 << 20, SEEK_END),
      read_("f", 10),
      pwrite_("f", "tail", static_cast<off_t>(big.size()) + 10000),
      fstat_("f"),
      pread_("f", 20010, big.size() - 6),
      pwrite_("f", "mid", 4095),
      pread_("f", 8, 4092),
      pwrite_("f", "x", -1, EINVAL),
      pread_("f", 1, -1, EINVAL),
      call(
          "fsync(f)", [](Ctx& c) { return ::fsync(c.fd("f")); }, 0),
      call(
          "fdatasync(f)", [](Ctx& c) { return ::fdatasync(c.fd("f")); }, 0),
      close_("f"),
      contents_("f"),
      // Sparse file: data [0,4096), hole, data [1 MiB, 1 MiB + 4096).
      open_("s", "sparse", O_CREAT | O_RDWR),
      pwrite_("s", pattern(4096, 2), 0),
      pwrite_("s", pattern(4096, 3), 1 << 20),
      call(
          "fsync(s)", [](Ctx& c) { return ::fsync(c.fd("s")); }, 0),
      lseek_("s", 0, SEEK_DATA),
      lseek_("s", 0, SEEK_HOLE),
      lseek_("s", 100, SEEK_DATA),
      lseek_("s", 8192, SEEK_DATA),
      lseek_("s", (1 << 20) + 10, SEEK_HOLE),
      lseek_("s", (1 << 20) + 4096, SEEK_DATA, ENXIO),
      lseek_("s", (1 << 20) + 4096, SEEK_HOLE, ENXIO),
      lseek_("s", 5 << 20, SEEK_DATA, ENXIO),
      lseek_("s", 0, SEEK_CUR),
      pread_("s", 16, 8192),
      close_("s"),
      // truncate / ftruncate.
      put_("t", "0123456789abcdef"),
      call(
          "truncate(t, 10)", [](Ctx& c) { return ::truncate(c.p("t").c_str(), 10); }, 0),
      contents_("t"),
      call(
          "truncate(t, 100000)", [](Ctx& c) { return ::truncate(c.p("t").c_str(), 100000); }, 0),
      stat_("t"),
      contents_("t"),
      call(
          "truncate(t, -1)", [](Ctx& c) { return ::truncate(c.p("t").c_str(), -1); }, EINVAL),
      call(
          "truncate(missing, 0)", [](Ctx& c) { return ::truncate(c.p("missing").c_str(), 0); },
          ENOENT),
      mkdir_("d"),
      call(
          "truncate(d, 0)", [](Ctx& c) { return ::truncate(c.p("d").c_str(), 0); }, EISDIR),
      open_("t", "t", O_RDWR),
      call(
          "ftruncate(t, 3)", [](Ctx& c) { return ::ftruncate(c.fd("t"), 3); }, 0),
      fstat_("t"),
      read_("t", 100),
      call(
          "ftruncate(t, 5000)", [](Ctx& c) { return ::ftruncate(c.fd("t"), 5000); }, 0),
      lseek_("t", 0, SEEK_SET),
      read_("t", 6000),
      call(
          "ftruncate(t, -5)", [](Ctx& c) { return ::ftruncate(c.fd("t"), -5); }, EINVAL),
      close_("t"),
      open_("ta", "t", O_WRONLY | O_APPEND),
      call(
          "ftruncate(O_APPEND fd, 2)", [](Ctx& c) { return ::ftruncate(c.fd("ta"), 2); }, kAny),
      write_("ta", "zz"),
      close_("ta"),
      contents_("t"),
  });
}

TEST_F(Conformance, Directories) {
  std::vector<Step> steps = {
      mkdir_("d"),
      mkdir_("d", EEXIST),
      mkdir_("d/sub"),
      mkdir_("d/sub2"),
      mkdir_("missing/x", ENOENT),
      stat_("d"),
      put_("d/f", "data"),
      mkdir_("d/f/x", ENOTDIR),
      mkdir_("d/f", EEXIST),
      stat_("d/f/", ENOTDIR),
      rmdir_("d", ENOTEMPTY),
      unlink_("d", EISDIR),
      rmdir_("d/f", ENOTDIR),
      unlink_("d/missing", ENOENT),
      rmdir_("d/missing", ENOENT),
      rmdir_("d/sub/.", EINVAL),
      rmdir_("d/sub/..", ENOTEMPTY),
      readdir_("d"),
      readdir_("d/sub"),
      readdir_("d/f", ENOTDIR),
      readdir_("missing", ENOENT),
      rmdir_("d/sub"),
      stat_("d"),
      rmdir_("d/sub2"),
      stat_("d"),
      unlink_("d/f"),
      readdir_("d"),
      rmdir_("d"),
      stat_("d", ENOENT),
      readdir_(""),
      // Unlinking an open file: the fd keeps working.
      put_("u", "still here"),
      open_("u", "u", O_RDWR),
      unlink_("u"),
      stat_("u", ENOENT),
      fstat_("u"),
      read_("u", 100),
      pwrite_("u", "STILL", 0),
      pread_("u", 100, 0),
      call(
          "ftruncate(unlinked, 4)", [](Ctx& c) { return ::ftruncate(c.fd("u"), 4); }, 0),
      fstat_("u"),
      close_("u"),
      // A big directory: every name (of varied lengths) comes back exactly once.
      mkdir_("big"),
  };
  for (int i = 0; i < 400; ++i) {
    std::string name = "big/e" + std::to_string(i) + std::string(i % 60, 'x');
    if (i % 7 == 0) {
      steps.push_back(mkdir_(name));
    } else {
      steps.push_back(put_(name, std::to_string(i)));
    }
  }
  steps.push_back(readdir_("big"));
  steps.push_back(stat_("big"));
  for (int i = 0; i < 400; i += 3) {
    std::string name = "big/e" + std::to_string(i) + std::string(i % 60, 'x');
    steps.push_back(i % 7 == 0 ? rmdir_(name) : unlink_(name));
  }
  steps.push_back(readdir_("big"));
  steps.push_back(stat_("big"));
  check(steps);
}

TEST_F(Conformance, Rename) {
  check({
      put_("a", "A"),
      put_("b", "B"),
      mkdir_("D1"),
      put_("D1/in", "in D1"),
      mkdir_("D2"),
      mkdir_("D3"),
      put_("D3/x", "x"),
      rename_("a", "D2", 0, EISDIR),
      rename_("D2", "a", 0, ENOTDIR),
      rename_("D2", "D3", 0, ENOTEMPTY),
      rename_("D1", "D1/sub", 0, EINVAL),
      rename_("D1", "D1/in/sub", 0, ENOTDIR),
      rename_("missing", "z", 0, ENOENT),
      rename_("a", "missing/a", 0, ENOENT),
      rename_("a", "b", RENAME_NOREPLACE, EEXIST),
      rename_("a", "D2", RENAME_NOREPLACE, EEXIST),
      rename_("a", "c", RENAME_NOREPLACE | RENAME_EXCHANGE, EINVAL),
      rename_("a", "c", RENAME_NOREPLACE, 0),
      stat_("a", ENOENT),
      contents_("c"),
      rename_("c", "b", RENAME_EXCHANGE, 0),
      contents_("b"),
      contents_("c"),
      rename_("c", "nothere", RENAME_EXCHANGE, ENOENT),
      rename_("b", "D2", RENAME_EXCHANGE, 0),
      stat_("b"),
      stat_("D2"),
      contents_("D2"),
      rename_("D2", "b", RENAME_EXCHANGE, 0),
      // Plain rename over an existing file replaces it; an open fd follows the file.
      open_("fc", "c", O_RDWR),
      rename_("c", "b", 0, 0),
      stat_("c", ENOENT),
      contents_("b"),
      write_("fc", "written after rename"),
      close_("fc"),
      contents_("b"),
      rename_("b", "b", 0, 0),
      contents_("b"),
      // Directory over an empty directory; nlink of both parents follows the move.
      mkdir_("P"),
      mkdir_("Q"),
      mkdir_("P/child"),
      put_("P/child/file", "deep"),
      stat_("P"),
      stat_("Q"),
      rename_("P/child", "Q/child", 0, 0),
      stat_("P"),
      stat_("Q"),
      contents_("Q/child/file"),
      mkdir_("P/empty"),
      rename_("Q/child", "P/empty", 0, 0),
      readdir_("P"),
      readdir_("Q"),
      contents_("P/empty/file"),
      rename_("P", "P/empty/inside", 0, EINVAL),
      // Exchange of two directories in different parents.
      rename_("P/empty", "D1", RENAME_EXCHANGE, 0),
      readdir_("D1"),
      readdir_("P/empty"),
      stat_("D1"),
      stat_("P"),
      readdir_(""),
  });
}

TEST_F(Conformance, Metadata) {
  check({
      put_("f", "0123456789"),
      stat_("f"),
      call(
          "chmod(f, 0600)", [](Ctx& c) { return ::chmod(c.p("f").c_str(), 0600); }, 0),
      stat_("f"),
      call(
          "chmod(f, 0)", [](Ctx& c) { return ::chmod(c.p("f").c_str(), 0); }, 0),
      stat_("f"),
      // Root bypasses permission bits for read and write, not for execute.
      call(
          "access(f, R_OK|W_OK)", [](Ctx& c) { return ::access(c.p("f").c_str(), R_OK | W_OK); },
          0),
      call(
          "access(f, X_OK)", [](Ctx& c) { return ::access(c.p("f").c_str(), X_OK); }, EACCES),
      contents_("f"),
      call(
          "chmod(f, 0755)", [](Ctx& c) { return ::chmod(c.p("f").c_str(), 0755); }, 0),
      call(
          "access(f, X_OK)", [](Ctx& c) { return ::access(c.p("f").c_str(), X_OK); }, 0),
      call(
          "access(f, F_OK)", [](Ctx& c) { return ::access(c.p("f").c_str(), F_OK); }, 0),
      call(
          "access(missing, F_OK)", [](Ctx& c) { return ::access(c.p("missing").c_str(), F_OK); },
          ENOENT),
      call(
          "faccessat(f, W_OK, AT_EACCESS)",
          [](Ctx& c) { return ::faccessat(AT_FDCWD, c.p("f").c_str(), W_OK, AT_EACCESS); }, 0),
      open_("f", "f", O_RDWR),
      call(
          "fchmod(f, 0640)", [](Ctx& c) { return ::fchmod(c.fd("f"), 0640); }, 0),
      fstat_("f"),
      stat_("f"),
      call(
          "fchmod(f, 01644)", [](Ctx& c) { return ::fchmod(c.fd("f"), 01644); }, 0),
      fstat_("f"),
      call(
          "fchown(f, -1, -1)", [](Ctx& c) { return ::fchown(c.fd("f"), -1, -1); }, 0),
      call(
          "chown(f, 0, 0)", [](Ctx& c) { return ::chown(c.p("f").c_str(), 0, 0); }, 0),
      stat_("f"),
      // Explicit times, UTIME_OMIT, and an mtime update by write.
      call(
          "utimensat(f, {1000.5, 2000.25})",
          [](Ctx& c) {
            timespec ts[2] = {{1000, 500000000}, {2000, 250000000}};
            return ::utimensat(AT_FDCWD, c.p("f").c_str(), ts, 0);
          },
          0),
      times_("f"),
      call(
          "utimensat(f, {OMIT, 3000.123456789})",
          [](Ctx& c) {
            timespec ts[2] = {{0, UTIME_OMIT}, {3000, 123456789}};
            return ::utimensat(AT_FDCWD, c.p("f").c_str(), ts, 0);
          },
          0),
      times_("f"),
      call(
          "futimens(f, {4000.1, OMIT})",
          [](Ctx& c) {
            timespec ts[2] = {{4000, 1}, {0, UTIME_OMIT}};
            return ::futimens(c.fd("f"), ts);
          },
          0),
      times_("f"),
      write_("f", "more"),
      call(
          "mtime moved by write",
          [](Ctx& c) -> long {
            struct stat st {};
            if (::stat(c.p("f").c_str(), &st) != 0) return -1;
            return st.st_mtim.tv_sec > 3000 ? 1 : 0;
          },
          0),
      call(
          "utimensat(f, NULL) sets now",
          [](Ctx& c) -> long {
            if (::utimensat(AT_FDCWD, c.p("f").c_str(), nullptr, 0) != 0) return -1;
            struct stat st {};
            if (::stat(c.p("f").c_str(), &st) != 0) return -1;
            return std::labs(st.st_mtim.tv_sec - ::time(nullptr)) <= 5 ? 1 : 0;
          },
          0),
      close_("f"),
      call(
          "chmod(missing)", [](Ctx& c) { return ::chmod(c.p("missing").c_str(), 0600); }, ENOENT),
      // Directories: modes, sticky bit, nlink.
      mkdir_("d", 0, 0700),
      stat_("d"),
      call(
          "chmod(d, 01777)", [](Ctx& c) { return ::chmod(c.p("d").c_str(), 01777); }, 0),
      stat_("d"),
      mkdir_("d/a"),
      mkdir_("d/b"),
      stat_("d"),
      stat_("d/a"),
      call(
          "utimensat(d, {5,6})",
          [](Ctx& c) {
            timespec ts[2] = {{5, 0}, {6, 0}};
            return ::utimensat(AT_FDCWD, c.p("d").c_str(), ts, 0);
          },
          0),
      times_("d"),
      call(
          "statfs: bsize, blocks, namelen, files",
          [](Ctx& c) -> long {
            struct statfs s {};
            if (::statfs(c.p("").c_str(), &s) != 0) return -1;
            // Compare the fields that describe the host filesystem; the free counts move.
            return static_cast<long>(s.f_bsize) * 1000003 + static_cast<long>(s.f_blocks) * 7 +
                   static_cast<long>(s.f_namelen) + static_cast<long>(s.f_files) * 13;
          },
          0),
  });
}

TEST_F(Conformance, Xattrs) {
  const std::string big(3000, 'v');
  check({
      put_("f", "x"),
      setx_("f", "user.a", "hello", 0),
      getx_("f", "user.a", 0),
      getx_("f", "user.a", 100),
      getx_("f", "user.a", 5),
      getx_("f", "user.a", 2, ERANGE),
      getx_("f", "user.missing", 100, ENODATA),
      setx_("f", "user.a", "again", XATTR_CREATE, EEXIST),
      setx_("f", "user.b", "b", XATTR_REPLACE, ENODATA),
      setx_("f", "user.a", "replaced", XATTR_REPLACE),
      getx_("f", "user.a", 100),
      setx_("f", "user.empty", "", 0),
      getx_("f", "user.empty", 0),
      getx_("f", "user.empty", 10),
      setx_("f", "user.big", big, XATTR_CREATE),
      getx_("f", "user.big", 4000),
      listx_("f", 0),
      listx_("f", 1000),
      listx_("f", 3, ERANGE),
      rmx_("f", "user.a"),
      rmx_("f", "user.a", ENODATA),
      getx_("f", "user.a", 100, ENODATA),
      listx_("f", 1000),
      setx_("f", "user." + std::string(250, 'n'), "long name", 0),
      setx_("f", "user." + std::string(251, 'n'), "too long", 0, ERANGE),
      listx_("f", 1000),
      getx_("missing", "user.a", 10, ENOENT),
      mkdir_("d"),
      setx_("d", "user.dir", "on a dir", 0),
      getx_("d", "user.dir", 100),
      listx_("d", 100),
      rmx_("d", "user.dir"),
      listx_("d", 100),
      open_("fd", "f", O_RDONLY),
      call(
          "fsetxattr(fd, user.viafd)",
          [](Ctx& c) { return ::fsetxattr(c.fd("fd"), "user.viafd", "v", 1, 0); }, 0),
      call(
          "fgetxattr(fd, user.viafd)",
          [](Ctx& c) -> long {
            char b[16];
            ssize_t r = ::fgetxattr(c.fd("fd"), "user.viafd", b, sizeof b);
            return r == 1 && b[0] == 'v' ? 1 : (r < 0 ? -1 : 0);
          },
          0),
      call(
          "flistxattr(fd) size", [](Ctx& c) { return ::flistxattr(c.fd("fd"), nullptr, 0); }, 0),
      call(
          "fremovexattr(fd, user.viafd)",
          [](Ctx& c) { return ::fremovexattr(c.fd("fd"), "user.viafd"); }, 0),
      close_("fd"),
      listx_("f", 1000),
  });
}

TEST_F(Conformance, FallocateAndCopyFileRange) {
  const std::string src = pattern(100000, 7);
  check({
      open_("f", "f", O_CREAT | O_RDWR),
      call(
          "fallocate(f, 0, 0, 65536)", [](Ctx& c) { return ::fallocate(c.fd("f"), 0, 0, 65536); },
          0),
      fstat_("f"),
      pread_("f", 16, 60000),
      call(
          "fallocate(f, KEEP_SIZE, 65536, 65536)",
          [](Ctx& c) { return ::fallocate(c.fd("f"), FALLOC_FL_KEEP_SIZE, 65536, 65536); }, 0),
      fstat_("f"),
      pwrite_("f", pattern(65536, 8), 0),
      call(
          "fallocate(f, PUNCH_HOLE|KEEP_SIZE, 4096, 8192)",
          [](Ctx& c) {
            return ::fallocate(c.fd("f"), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192);
          },
          0),
      pread_("f", 12288 + 8, 4088),
      lseek_("f", 4096, SEEK_DATA),
      fstat_("f"),
      call(
          "fallocate(f, PUNCH_HOLE) without KEEP_SIZE",
          [](Ctx& c) { return ::fallocate(c.fd("f"), FALLOC_FL_PUNCH_HOLE, 0, 4096); }, EOPNOTSUPP),
      call(
          "fallocate(f, 0, -1, 10)", [](Ctx& c) { return ::fallocate(c.fd("f"), 0, -1, 10); },
          EINVAL),
      call(
          "fallocate(f, 0, 0, 0)", [](Ctx& c) { return ::fallocate(c.fd("f"), 0, 0, 0); }, EINVAL),
      close_("f"),
      open_("ro", "f", O_RDONLY),
      call(
          "fallocate(O_RDONLY fd)", [](Ctx& c) { return ::fallocate(c.fd("ro"), 0, 0, 100); },
          EBADF),
      close_("ro"),
      // copy_file_range.
      put_("src", src),
      open_("in", "src", O_RDONLY),
      open_("out", "dst", O_CREAT | O_RDWR),
      call(
          "copy_file_range(in@100 -> out@0, 5000)",
          [](Ctx& c) {
            loff_t in = 100, out = 0;
            return ::copy_file_range(c.fd("in"), &in, c.fd("out"), &out, 5000, 0);
          },
          0),
      call(
          "copy_file_range(in@99000 -> out@50000, 5000) short at EOF",
          [](Ctx& c) {
            loff_t in = 99000, out = 50000;
            return ::copy_file_range(c.fd("in"), &in, c.fd("out"), &out, 5000, 0);
          },
          0),
      call(
          "copy_file_range at EOF",
          [](Ctx& c) {
            loff_t in = 100000, out = 0;
            return ::copy_file_range(c.fd("in"), &in, c.fd("out"), &out, 5000, 0);
          },
          0),
      call(
          "copy_file_range(len 0)",
          [](Ctx& c) {
            loff_t in = 0, out = 0;
            return ::copy_file_range(c.fd("in"), &in, c.fd("out"), &out, 0, 0);
          },
          0),
      call(
          "copy_file_range with file offsets",
          [](Ctx& c) -> long {
            if (::lseek(c.fd("in"), 10, SEEK_SET) < 0) return -1;
            if (::lseek(c.fd("out"), 20000, SEEK_SET) < 0) return -1;
            return ::copy_file_range(c.fd("in"), nullptr, c.fd("out"), nullptr, 3000, 0);
          },
          0),
      lseek_("in", 0, SEEK_CUR),
      lseek_("out", 0, SEEK_CUR),
      call(
          "copy_file_range(out -> in) on O_RDONLY dst",
          [](Ctx& c) {
            loff_t in = 0, out = 0;
            return ::copy_file_range(c.fd("out"), &in, c.fd("in"), &out, 10, 0);
          },
          EBADF),
      call(
          "copy_file_range overlapping same file",
          [](Ctx& c) {
            loff_t in = 0, out = 100;
            return ::copy_file_range(c.fd("out"), &in, c.fd("out"), &out, 1000, 0);
          },
          EINVAL),
      call(
          "copy_file_range non-overlapping same file",
          [](Ctx& c) {
            loff_t in = 0, out = 60000;
            return ::copy_file_range(c.fd("out"), &in, c.fd("out"), &out, 1000, 0);
          },
          0),
      close_("in"),
      close_("out"),
      stat_("dst"),
      contents_("dst"),
  });
}

// O_DIRECT with aligned buffers, and MAP_SHARED mappings.
TEST_F(Conformance, DirectIoAndMmap) {
  auto aligned_write = [](std::string name, size_t n, off_t off, unsigned seed) {
    return call(
        "aligned pwrite(" + name + ", " + std::to_string(n) + ", " + std::to_string(off) + ")",
        [=](Ctx& c) -> long {
          void* buf = nullptr;
          if (::posix_memalign(&buf, 4096, n) != 0) return -1;
          std::string p = pattern(n, seed);
          memcpy(buf, p.data(), n);
          long r = ::pwrite(c.fd(name), buf, n, off);
          int e = errno;
          free(buf);
          errno = e;
          return r;
        },
        0);
  };
  auto aligned_read = [](std::string name, size_t n, off_t off) {
    return Step{
        "aligned pread(" + name + ", " + std::to_string(n) + ", " + std::to_string(off) + ")",
        [=](Ctx& c) {
          void* buf = nullptr;
          if (::posix_memalign(&buf, 4096, n) != 0) return result(-1, ENOMEM);
          ssize_t r = ::pread(c.fd(name), buf, n, off);
          int e = errno;
          std::string data(static_cast<char*>(buf), r > 0 ? r : 0);
          free(buf);
          return result(r, e, data);
        },
        0};
  };
  auto map_write = [](std::string path, size_t len, size_t at, std::string data) {
    return call(
        "mmap(" + path + ", MAP_SHARED) write " + std::to_string(data.size()) + " at " +
            std::to_string(at) + ", msync, munmap",
        [=](Ctx& c) -> long {
          int fd = ::open(c.p(path).c_str(), O_RDWR | O_CLOEXEC);
          if (fd < 0) return -1;
          void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
          int e = errno;
          ::close(fd);
          if (m == MAP_FAILED) {
            errno = e;
            return -1;
          }
          memcpy(static_cast<char*>(m) + at, data.data(), data.size());
          long r = ::msync(m, len, MS_SYNC);
          e = errno;
          ::munmap(m, len);
          errno = e;
          return r;
        },
        0);
  };
  auto map_read = [](std::string path, size_t len) {
    return Step{"mmap(" + path + ", MAP_SHARED, PROT_READ) read " + std::to_string(len),
                [=](Ctx& c) {
                  int fd = ::open(c.p(path).c_str(), O_RDONLY | O_CLOEXEC);
                  if (fd < 0) return result(-1, errno);
                  void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
                  int e = errno;
                  ::close(fd);
                  if (m == MAP_FAILED) return result(-1, e);
                  std::string data(static_cast<char*>(m), len);
                  ::munmap(m, len);
                  return result(static_cast<long>(len), 0, data);
                },
                0};
  };
  check({
      open_("d", "direct", O_CREAT | O_RDWR | O_DIRECT),
      aligned_write("d", 8192, 0, 11),
      aligned_write("d", 4096, 16384, 12),
      fstat_("d"),
      aligned_read("d", 20480, 0),
      close_("d"),
      contents_("direct"),
      open_("d", "direct", O_RDONLY | O_DIRECT),
      aligned_read("d", 4096, 16384),
      close_("d"),
      // MAP_SHARED write, msync, then read back with read().
      put_("m", pattern(3 * 4096 + 100, 13)),
      map_write("m", 3 * 4096 + 100, 4000, "written through a shared mapping"),
      map_write("m", 3 * 4096 + 100, 3 * 4096 + 90, "0123456789"),
      contents_("m"),
      call(
          "truncate(m, 20000)", [](Ctx& c) { return ::truncate(c.p("m").c_str(), 20000); }, 0),
      map_write("m", 20000, 19990, "last bytes"),
      contents_("m"),
      // A mapping sees data written with write().
      open_("w", "m", O_WRONLY),
      pwrite_("w", "via write()", 100),
      close_("w"),
      map_read("m", 20000),
      // PROT_WRITE|MAP_SHARED needs a writable fd; MAP_PRIVATE does not.
      open_("ro", "m", O_RDONLY),
      call(
          "mmap(O_RDONLY fd, PROT_WRITE, MAP_SHARED)",
          [](Ctx& c) -> long {
            void* m = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd("ro"), 0);
            if (m == MAP_FAILED) return -1;
            ::munmap(m, 4096);
            return 0;
          },
          EACCES),
      call(
          "mmap(O_RDONLY fd, PROT_WRITE, MAP_PRIVATE) write stays private",
          [](Ctx& c) -> long {
            void* m = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, c.fd("ro"), 0);
            if (m == MAP_FAILED) return -1;
            memcpy(m, "PRIVATE", 7);
            ::munmap(m, 4096);
            return 0;
          },
          0),
      close_("ro"),
      pread_("ro", 10, 0, EBADF),
      contents_("m"),
  });
}

TEST_F(Conformance, LongNames) {
  const std::string n255(255, 'a');
  const std::string n256(256, 'b');
  const std::string d255(255, 'd');
  check({
      open_("f", n255, O_CREAT | O_EXCL | O_WRONLY),
      write_("f", "max length name"),
      close_("f"),
      stat_(n255),
      contents_(n255),
      open_("f", n256, O_CREAT | O_WRONLY, ENAMETOOLONG),
      open_("f", n256, O_RDONLY, ENAMETOOLONG),
      stat_(n256, ENAMETOOLONG),
      mkdir_(n256, ENAMETOOLONG),
      unlink_(n256, ENAMETOOLONG),
      rmdir_(n256, ENAMETOOLONG),
      rename_(n255, n256, 0, ENAMETOOLONG),
      rename_(n256, "x", 0, ENAMETOOLONG),
      mkdir_(d255),
      rename_(n255, d255 + "/" + n255, 0, 0),
      contents_(d255 + "/" + n255),
      stat_(d255 + "/" + n256, ENAMETOOLONG),
      readdir_(""),
      readdir_(d255),
      setx_(d255, "user.x", "v", 0),
      unlink_(d255 + "/" + n255),
      rmdir_(d255),
      readdir_(""),
  });
}

}  // namespace
