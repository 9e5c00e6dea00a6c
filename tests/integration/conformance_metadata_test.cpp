// Conformance tables (tests/support/conformance.h): Attributes and extended attributes.
#include "tests/support/conformance.h"

namespace confinefs::testing::conformance {
namespace {

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

}  // namespace
}  // namespace confinefs::testing::conformance
