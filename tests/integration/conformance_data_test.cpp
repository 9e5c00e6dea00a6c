// Conformance tables (tests/support/conformance.h): fallocate, copy_file_range, O_DIRECT and mmap.
#include "tests/support/conformance.h"

namespace confinefs::testing::conformance {
namespace {

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

}  // namespace
}  // namespace confinefs::testing::conformance
