// Conformance framework: the same sequence of system calls run on a confinefs mount and on a
// native directory of the same host filesystem must give the same return values, errno and data
// for everything the default policy allows. A test builds a table of Steps; compare() runs every
// step on the native directory and then on the mount and reports the first divergence (and any
// further ones). Steps may also state what the native run must give, so a table that stops
// testing what it claims (both sides failing the same way) fails too. The tables live in
// tests/integration/conformance_*_test.cpp, one file per operation family.
#pragma once

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

namespace confinefs::testing::conformance {

namespace fs = std::filesystem;

namespace fs = std::filesystem;
using confinefs::testing::Mount;

inline constexpr int kAny = -1;  // Step::expect: the native outcome is not checked

struct Outcome {
  long ret = 0;  // -1 on failure
  int err = 0;   // errno on failure, 0 on success
  std::string data;
  bool operator==(const Outcome&) const = default;
};

inline std::string escape(const std::string& s) {
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

inline std::ostream& operator<<(std::ostream& o, const Outcome& r) {
  if (r.ret < 0) {
    const char* name = strerrorname_np(r.err);
    o << "-1 errno=" << (name ? name : std::to_string(r.err));
  } else {
    o << r.ret;
  }
  if (!r.data.empty()) o << " data=\"" << escape(r.data) << "\"";
  return o;
}

inline Outcome result(long r, int saved_errno, std::string data = {}) {
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
inline Step call(std::string what, std::function<long(Ctx&)> fn, int expect = kAny) {
  return Step{std::move(what),
              [fn](Ctx& c) {
                errno = 0;
                long r = fn(c);
                int e = errno;
                return result(r, e);
              },
              expect};
}

inline Step open_(const std::string& name, const std::string& path, int flags, int expect = 0,
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

inline Step close_(const std::string& name) {
  return Step{"close(" + name + ")", [=](Ctx& c) { return result(c.close_fd(name), errno); }, 0};
}

inline Step write_(const std::string& name, const std::string& data, int expect = 0) {
  return call(
      "write(" + name + ", \"" + escape(data) + "\")",
      [=](Ctx& c) { return ::write(c.fd(name), data.data(), data.size()); }, expect);
}

inline Step pwrite_(const std::string& name, const std::string& data, off_t off, int expect = 0) {
  return call(
      "pwrite(" + name + ", " + std::to_string(data.size()) + " bytes, " + std::to_string(off) +
          ")",
      [=](Ctx& c) { return ::pwrite(c.fd(name), data.data(), data.size(), off); }, expect);
}

inline Step read_(const std::string& name, size_t n, int expect = 0) {
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

inline Step pread_(const std::string& name, size_t n, off_t off, int expect = 0) {
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

inline Step lseek_(const std::string& name, off_t off, int whence, int expect = 0) {
  static const std::map<int, std::string> names = {{SEEK_SET, "SEEK_SET"},
                                                   {SEEK_CUR, "SEEK_CUR"},
                                                   {SEEK_END, "SEEK_END"},
                                                   {SEEK_DATA, "SEEK_DATA"},
                                                   {SEEK_HOLE, "SEEK_HOLE"}};
  return call(
      "lseek(" + name + ", " + std::to_string(off) + ", " + names.at(whence) + ")",
      [=](Ctx& c) { return ::lseek(c.fd(name), off, whence); }, expect);
}

inline std::string describe_stat(const struct stat& st) {
  std::ostringstream o;
  char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : '?';
  o << "type=" << type << " mode=0" << std::oct << (st.st_mode & 07777) << std::dec
    << " size=" << st.st_size << " nlink=" << st.st_nlink << " uid=" << st.st_uid
    << " gid=" << st.st_gid;
  return o.str();
}

inline Step stat_(const std::string& path, int expect = 0) {
  return Step{"stat(" + path + ")",
              [=](Ctx& c) {
                struct stat st {};
                int r = ::stat(c.p(path).c_str(), &st);
                int e = errno;
                return result(r, e, r == 0 ? describe_stat(st) : "");
              },
              expect};
}

inline Step fstat_(const std::string& name, int expect = 0) {
  return Step{"fstat(" + name + ")",
              [=](Ctx& c) {
                struct stat st {};
                int r = ::fstat(c.fd(name), &st);
                int e = errno;
                return result(r, e, r == 0 ? describe_stat(st) : "");
              },
              expect};
}

inline Step times_(const std::string& path) {
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
inline Step contents_(const std::string& path, int expect = 0) {
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
inline Step readdir_(const std::string& path, int expect = 0) {
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

inline Step mkdir_(const std::string& path, int expect = 0, mode_t mode = 0755) {
  return call(
      "mkdir(" + path + ")", [=](Ctx& c) { return ::mkdir(c.p(path).c_str(), mode); }, expect);
}
inline Step rmdir_(const std::string& path, int expect = 0) {
  return call(
      "rmdir(" + path + ")", [=](Ctx& c) { return ::rmdir(c.p(path).c_str()); }, expect);
}
inline Step unlink_(const std::string& path, int expect = 0) {
  return call(
      "unlink(" + path + ")", [=](Ctx& c) { return ::unlink(c.p(path).c_str()); }, expect);
}
inline Step rename_(const std::string& from, const std::string& to, unsigned flags, int expect) {
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
inline Step put_(const std::string& path, const std::string& data) {
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

inline Step setx_(const std::string& path, const std::string& name, const std::string& value,
                  int flags, int expect = 0) {
  return call(
      "setxattr(" + path + ", " + name + ", \"" + escape(value) + "\", " + std::to_string(flags) +
          ")",
      [=](Ctx& c) {
        return ::setxattr(c.p(path).c_str(), name.c_str(), value.data(), value.size(), flags);
      },
      expect);
}
inline Step getx_(const std::string& path, const std::string& name, size_t size, int expect = 0) {
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
inline Step listx_(const std::string& path, size_t size, int expect = 0) {
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
inline Step rmx_(const std::string& path, const std::string& name, int expect = 0) {
  return call(
      "removexattr(" + path + ", " + name + ")",
      [=](Ctx& c) { return ::removexattr(c.p(path).c_str(), name.c_str()); }, expect);
}

inline bool native_matches(const Outcome& o, int expect) {
  if (expect == kAny) return true;
  if (expect == 0) return o.ret >= 0;
  return o.ret < 0 && o.err == expect;
}

inline std::string expect_name(int expect) {
  if (expect == 0) return "success";
  const char* n = strerrorname_np(expect);
  return n ? n : std::to_string(expect);
}

// Runs the table on both trees, native first, step by step.
inline void compare(const std::vector<Step>& steps, const fs::path& native,
                    const fs::path& mounted) {
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

}  // namespace confinefs::testing::conformance
