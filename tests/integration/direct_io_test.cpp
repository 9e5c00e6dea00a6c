// Direct I/O beside buffered readers (the pattern of xfstests generic/451): a writer rewrites a
// file with asynchronous O_DIRECT writes while other processes read it buffered in a loop; after
// each write, a fresh buffered open must read what was written. The kernel drops cached pages
// before an O_DIRECT write, but not after an asynchronous one completes, so a page a reader
// cached during the write holds the old data; cache=auto must not let a later open keep it.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

constexpr size_t kFileSize = 655360;  // as generic/451

struct AlignedBuffer {
  explicit AlignedBuffer(char fill) {
    EXPECT_EQ(::posix_memalign(&data, 4096, kFileSize), 0);
    std::memset(data, fill, kFileSize);
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  void* data = nullptr;
};

// One asynchronous O_DIRECT write of the whole buffer at offset 0 (io_submit, then wait).
bool aio_direct_write(const fs::path& file, const void* data) {
  int fd = ::open(file.c_str(), O_RDWR | O_DIRECT | O_CREAT, 0600);
  if (fd < 0) return false;
  aio_context_t ctx = 0;
  bool ok = ::syscall(SYS_io_setup, 1, &ctx) == 0;
  if (ok) {
    iocb cb{};
    cb.aio_fildes = static_cast<uint32_t>(fd);
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_buf = reinterpret_cast<uint64_t>(data);
    cb.aio_nbytes = kFileSize;
    iocb* list[] = {&cb};
    io_event ev{};
    ok = ::syscall(SYS_io_submit, ctx, 1, list) == 1 &&
         ::syscall(SYS_io_getevents, ctx, 1, 1, &ev, nullptr) == 1 &&
         ev.res == static_cast<int64_t>(kFileSize);
    ::syscall(SYS_io_destroy, ctx);
  }
  ::close(fd);
  return ok;
}

bool buffered_read_matches(const fs::path& file, const void* expected) {
  std::vector<char> got(kFileSize);
  int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return false;
  bool ok = ::pread(fd, got.data(), kFileSize, 0) == static_cast<ssize_t>(kFileSize);
  ::close(fd);
  return ok && std::memcmp(got.data(), expected, kFileSize) == 0;
}

// Processes reading file buffered in a loop until killed.
std::vector<pid_t> start_readers(const fs::path& file, int count) {
  std::vector<pid_t> readers;
  for (int i = 0; i < count; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      std::vector<char> buf(kFileSize);
      for (;;) {
        int fd = ::open(file.c_str(), O_RDONLY);
        if (fd >= 0) {
          while (::read(fd, buf.data(), buf.size()) > 0) {
          }
          ::close(fd);
        }
      }
    }
    if (pid > 0) readers.push_back(pid);
  }
  return readers;
}

void stop(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

// Rounds of generic/451's cycle until the time is up; the number of stale buffered reads.
int stale_reads(const fs::path& file, std::chrono::seconds duration) {
  AlignedBuffer patterns[2] = {AlignedBuffer(0x55), AlignedBuffer(static_cast<char>(0xaa))};
  EXPECT_TRUE(aio_direct_write(file, patterns[0].data));
  auto readers = start_readers(file, 4);
  int stale = 0;
  auto end = std::chrono::steady_clock::now() + duration;
  for (int round = 1; std::chrono::steady_clock::now() < end && stale == 0; ++round) {
    const void* pattern = patterns[round % 2].data;
    if (!aio_direct_write(file, pattern)) {
      ADD_FAILURE() << "the direct write failed: " << std::strerror(errno);
      break;
    }
    if (!buffered_read_matches(file, pattern)) ++stale;
  }
  stop(readers);
  return stale;
}

// cache=auto keeps pages when the content stamp is as at the last open (one after the write has
// the new one), cache=full always: both found stale pages within 0.1 to 12 s before.
class DirectIo : public ::testing::TestWithParam<const char*> {};

TEST_P(DirectIo, BufferedReadsAfterAsyncDirectWritesSeeTheNewData) {
  Mount m({"-o", std::string("cache=") + GetParam()});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(stale_reads(m.mnt() / "f", std::chrono::seconds(12)), 0);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, DirectIo, ::testing::Values("auto", "full"));

}  // namespace
}  // namespace confinefs::testing
