// file-exerciser: random I/O on one file, each read checked against a model of what it must hold
// (in the manner of xfstests' fsx), for tests that run it through a daemon being killed.
//   file-exerciser FILE SEED SECONDS [--direct] [--stop PATH]
// Operations: writes at random offsets (past the end too; some of up to 4 MiB), reads, truncates up
// and down,
// fallocate (allocate, keep-size, punch hole, zero range, collapse and insert range where the
// filesystem has them), copy_file_range from a second file, writes and reads through a shared
// mapping, fsync. --direct opens O_DIRECT (aligned offsets, lengths and buffers). Runs until
// SECONDS pass or PATH exists, then checks the whole file. Exit 0 with the operation count on
// stdout; 1 with the failing operation and the first differing byte on stderr.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kMaxSize = 1 << 20;
constexpr size_t kMaxLength = 64 << 10;
constexpr size_t kLongWrite = 4 << 20;

struct Exerciser {
  int fd = -1;
  int source = -1;  // copy_file_range's source: a pattern of its own
  bool direct = false;
  std::vector<char> model;
  std::vector<char> source_bytes;
  std::mt19937_64 random;
  long ops = 0;
  bool no_collapse = false, no_insert = false, no_zero = false;

  size_t below(size_t n) { return n == 0 ? 0 : random() % n; }
  size_t aligned(size_t n) { return direct ? n / kBlock * kBlock : n; }

  [[noreturn]] void fail(const char* what, size_t offset, size_t length) {
    std::fprintf(stderr, "op %ld: %s at %zu length %zu: %s\n", ops, what, offset, length,
                 std::strerror(errno));
    std::exit(1);
  }
  char* buffer(size_t length) {
    void* p = nullptr;
    if (::posix_memalign(&p, kBlock, length == 0 ? kBlock : length) != 0) std::abort();
    return static_cast<char*>(p);
  }

  void check(size_t offset, size_t length, const char* got, const char* what) {
    for (size_t i = 0; i < length; ++i) {
      char want = offset + i < model.size() ? model[offset + i] : 0;
      if (got[i] != want) {
        std::fprintf(stderr, "op %ld: %s: byte %zu is %d, the model says %d (file size %zu)\n", ops,
                     what, offset + i, got[i], want, model.size());
        std::exit(1);
      }
    }
  }

  void write_some(size_t max_length = kMaxLength) {
    size_t offset = aligned(below(kMaxSize));
    size_t length = std::max(aligned(1 + below(max_length)), direct ? kBlock : 1);
    char* data = buffer(length);
    for (size_t i = 0; i < length; ++i) data[i] = static_cast<char>(random());
    ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) fail("pwrite", offset, length);
    if (model.size() < offset + length) model.resize(offset + length, 0);
    std::memcpy(model.data() + offset, data, length);
    std::free(data);
  }

  void read_some() {
    if (model.empty()) return;
    size_t offset = aligned(below(model.size()));
    size_t length = direct ? kBlock * (1 + below(16)) : 1 + below(kMaxLength);
    char* data = buffer(length);
    ssize_t n = ::pread(fd, data, length, static_cast<off_t>(offset));
    if (n < 0) fail("pread", offset, length);
    size_t want = offset >= model.size() ? 0 : std::min(length, model.size() - offset);
    if (static_cast<size_t>(n) != want) {
      std::fprintf(stderr, "op %ld: pread at %zu: %zd bytes, the model says %zu\n", ops, offset, n,
                   want);
      std::exit(1);
    }
    check(offset, static_cast<size_t>(n), data, "pread");
    std::free(data);
  }

  void truncate_some() {
    size_t size = aligned(below(kMaxSize));
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail("ftruncate", size, 0);
    model.resize(size, 0);
  }

  void allocate_some() {
    size_t offset = below(kMaxSize) / kBlock * kBlock;
    size_t length = kBlock * (1 + below(16));
    int kinds[] = {0,
                   FALLOC_FL_KEEP_SIZE,
                   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                   FALLOC_FL_ZERO_RANGE,
                   FALLOC_FL_COLLAPSE_RANGE,
                   FALLOC_FL_INSERT_RANGE};
    int mode = kinds[below(6)];
    if ((mode == FALLOC_FL_COLLAPSE_RANGE && no_collapse) ||
        (mode == FALLOC_FL_INSERT_RANGE && no_insert) ||
        (mode == FALLOC_FL_ZERO_RANGE && no_zero)) {
      return;
    }
    size_t size = model.size();
    if (mode == FALLOC_FL_COLLAPSE_RANGE) {  // within the file, not reaching its end
      if (size < 2 * kBlock || size % kBlock != 0) return;
      offset = below(size / kBlock - 1) * kBlock;
      length = std::min(length, size - offset - kBlock);
    }
    if (mode == FALLOC_FL_INSERT_RANGE) {  // at a block inside the file
      if (size % kBlock != 0 || size == 0 || size + length > 2 * kMaxSize) return;
      offset = below(size / kBlock) * kBlock;
    }
    if (::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
      if (errno == EOPNOTSUPP) {
        no_collapse |= mode == FALLOC_FL_COLLAPSE_RANGE;
        no_insert |= mode == FALLOC_FL_INSERT_RANGE;
        no_zero |= mode == FALLOC_FL_ZERO_RANGE;
        return;
      }
      fail("fallocate", offset, length);
    }
    if (mode == 0 || mode == FALLOC_FL_ZERO_RANGE) {
      if (model.size() < offset + length) model.resize(offset + length, 0);
    }
    if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
      size_t end = std::min(offset + length, model.size());
      if (offset < end) std::memset(model.data() + offset, 0, end - offset);
    }
    if (mode == FALLOC_FL_COLLAPSE_RANGE) {
      model.erase(model.begin() + static_cast<long>(offset),
                  model.begin() + static_cast<long>(offset + length));
    }
    if (mode == FALLOC_FL_INSERT_RANGE) {
      model.insert(model.begin() + static_cast<long>(offset), length, 0);
    }
  }

  void copy_some() {
    size_t in = below(source_bytes.size() - kMaxLength);
    size_t offset = below(kMaxSize);
    size_t length = 1 + below(kMaxLength);
    loff_t in_off = static_cast<loff_t>(in), out_off = static_cast<loff_t>(offset);
    size_t done = 0;
    while (done < length) {
      ssize_t n = ::copy_file_range(source, &in_off, fd, &out_off, length - done, 0);
      if (n <= 0) fail("copy_file_range", offset + done, length - done);
      done += static_cast<size_t>(n);
    }
    if (model.size() < offset + length) model.resize(offset + length, 0);
    std::memcpy(model.data() + offset, source_bytes.data() + in, length);
  }

  void map_some() {
    if (model.empty()) return;
    size_t size = model.size();
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) fail("mmap", 0, size);
    char* map = static_cast<char*>(p);
    size_t offset = below(size);
    size_t length = 1 + below(std::min(kMaxLength, size - offset));
    check(offset, length, map + offset, "mapped read");
    for (size_t i = 0; i < length; ++i) {
      map[offset + i] = static_cast<char>(random());
      model[offset + i] = map[offset + i];
    }
    if (::msync(map, size, MS_SYNC) != 0) fail("msync", offset, length);
    ::munmap(map, size);
  }

  void step() {
    ++ops;
    // O_DIRECT: no mapping, no copy_file_range (their ranges are not aligned).
    int kinds = direct ? 7 : 17;
    switch (below(static_cast<size_t>(kinds))) {
      case 0:
      case 1: return write_some();
      case 2:
      case 3:
      case 4: return read_some();
      case 5: return allocate_some();
      case 6: return below(8) == 0 ? write_some(kLongWrite) : truncate_some();
      case 7:
      case 8: return copy_some();
      case 9:
      case 10: return map_some();
      case 11:
        if (::fsync(fd) != 0) fail("fsync", 0, 0);
        return;
      case 12: return write_some(kLongWrite);  // a long write: many kernel requests in one call
      case 13: return truncate_some();
      default: return read_some();
    }
  }

  void check_all() {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("fstat", 0, 0);
    if (static_cast<size_t>(st.st_size) != model.size()) {
      std::fprintf(stderr, "size %lld, the model says %zu\n", static_cast<long long>(st.st_size),
                   model.size());
      std::exit(1);
    }
    size_t length = (model.size() + kBlock - 1) / kBlock * kBlock;
    char* data = buffer(length);
    ssize_t n = ::pread(fd, data, length, 0);
    if (n != static_cast<ssize_t>(model.size())) fail("final read", 0, length);
    check(0, model.size(), data, "final read");
    std::free(data);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: file-exerciser FILE SEED SECONDS [--direct] [--stop PATH]\n");
    return 2;
  }
  Exerciser x;
  std::string stop;
  for (int i = 4; i < argc; ++i) {
    if (std::strcmp(argv[i], "--direct") == 0) x.direct = true;
    if (std::strcmp(argv[i], "--stop") == 0 && i + 1 < argc) stop = argv[++i];
  }
  x.random.seed(std::strtoull(argv[2], nullptr, 10));
  x.fd = ::open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | (x.direct ? O_DIRECT : 0), 0644);
  if (x.fd < 0) x.fail("open", 0, 0);
  std::string source_path = std::string(argv[1]) + ".source";
  x.source = ::open(source_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (x.source < 0) x.fail("open source", 0, 0);
  x.source_bytes.resize(4 * kMaxLength);
  for (char& c : x.source_bytes) c = static_cast<char>(x.random());
  if (::pwrite(x.source, x.source_bytes.data(), x.source_bytes.size(), 0) !=
      static_cast<ssize_t>(x.source_bytes.size())) {
    x.fail("write source", 0, x.source_bytes.size());
  }
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[3]));
  while (std::chrono::steady_clock::now() < end &&
         (stop.empty() || ::access(stop.c_str(), F_OK) != 0)) {
    x.step();
  }
  x.check_all();
  std::printf("%ld\n", x.ops);
  return 0;
}
