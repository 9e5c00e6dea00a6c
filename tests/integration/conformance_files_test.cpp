// Conformance tables (tests/support/conformance.h): Opening, creating, reading, writing and seeking
// regular files.
#include "tests/support/conformance.h"

namespace confinefs::testing::conformance {
namespace {

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

}  // namespace
}  // namespace confinefs::testing::conformance
