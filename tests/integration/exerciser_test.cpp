// A seeded random read/write/truncate/mmap exerciser: thousands of operations on a few files
// through the mount, each checked against an in-memory model of the file contents. The seed is
// random per run unless CONFINEFS_SEED is set; it is printed on failure together with the last
// operations, so a failure can be replayed exactly.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace {

namespace fs = std::filesystem;
using confinefs::testing::Mount;

uint64_t pick_seed() {
  if (const char* env = std::getenv("CONFINEFS_SEED")) return std::strtoull(env, nullptr, 0);
  return std::random_device{}() * 0x100000000ull + std::random_device{}();
}

// Describes where two buffers first differ.
std::string first_difference(const std::string& want, const std::string& got, size_t base) {
  std::ostringstream o;
  if (want.size() != got.size()) o << "length " << got.size() << " != expected " << want.size();
  size_t n = std::min(want.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    if (want[i] != got[i]) {
      o << (o.tellp() > 0 ? "; " : "") << "first differing byte at offset " << (base + i)
        << ": got 0x" << std::hex << (static_cast<unsigned>(got[i]) & 0xff) << " expected 0x"
        << (static_cast<unsigned>(want[i]) & 0xff) << std::dec;
      break;
    }
  }
  return o.str();
}

class Exerciser {
 public:
  Exerciser(fs::path dir, std::string prefix, int nfiles, uint64_t seed, size_t max_size)
      : dir_(std::move(dir)), rng_(seed), seed_(seed), max_size_(max_size) {
    for (int i = 0; i < nfiles; ++i) {
      files_.push_back(File{dir_ / (prefix + std::to_string(i)), -1, -1, {}});
    }
  }
  ~Exerciser() {
    for (auto& f : files_) close_fds(f);
  }
  Exerciser(const Exerciser&) = delete;
  Exerciser& operator=(const Exerciser&) = delete;

  // Runs `ops` random operations; returns an empty string or a description of the first failure.
  std::string run(int ops) {
    for (auto& f : files_) {
      int fd = ::open(f.path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
      if (fd < 0) return fail("create " + f.path.string(), errno);
      ::close(fd);
      if (std::string e = reopen(f); !e.empty()) return e;
    }
    for (op_ = 0; op_ < ops; ++op_) {
      File& f = files_[rng_() % files_.size()];
      if (std::string e = step(f); !e.empty()) return e;
    }
    for (auto& f : files_) {
      if (std::string e = check_whole(f, "final check"); !e.empty()) return e;
    }
    return {};
  }

  // Compares each file, by its name under `dir` (e.g. the backing directory), with the model.
  std::string check_copies_in(const fs::path& dir) {
    for (auto& f : files_) {
      close_fds(f);
      std::string got;
      try {
        got = confinefs::testing::read_file(dir / f.path.filename());
      } catch (const std::exception& e) {
        return e.what();
      }
      if (got != f.model) {
        return "seed " + std::to_string(seed_) + ": " + (dir / f.path.filename()).string() +
               " differs from the model: " + first_difference(f.model, got, 0);
      }
    }
    return {};
  }

 private:
  struct File {
    fs::path path;
    int fd;   // O_RDWR
    int afd;  // O_WRONLY|O_APPEND
    std::string model;
  };

  size_t rand_len() {
    size_t bits = rng_() % 17;  // up to 64 KiB, mostly short
    return 1 + rng_() % (size_t{1} << bits);
  }
  size_t rand_off(size_t limit) {
    // Favour page boundaries and their neighbours.
    size_t off = rng_() % (limit + 1);
    switch (rng_() % 4) {
      case 0: off &= ~size_t{4095}; break;
      case 1: off = (off | 4095) - (rng_() % 3); break;
      default: break;
    }
    return std::min(off, limit);
  }
  std::string rand_data(size_t n) {
    std::string s(n, '\0');
    uint64_t x = rng_();
    for (size_t i = 0; i < n; ++i) {
      if (i % 8 == 0) x = x * 6364136223846793005ull + 1442695040888963407ull;
      s[i] = static_cast<char>(x >> (8 * (i % 8)));
    }
    return s;
  }

  void note(const std::string& what) {
    history_.push_back("#" + std::to_string(op_) + " " + what);
    if (history_.size() > 12) history_.pop_front();
  }
  std::string fail(const std::string& what, int err = 0) {
    std::ostringstream o;
    o << "seed " << seed_ << " (rerun with CONFINEFS_SEED=" << seed_ << "), op #" << op_ << ": "
      << what;
    if (err) o << ": " << std::strerror(err);
    o << "\nlast operations:\n";
    for (auto& h : history_) o << "  " << h << "\n";
    return o.str();
  }

  static void close_fds(File& f) {
    if (f.fd >= 0) ::close(f.fd);
    if (f.afd >= 0) ::close(f.afd);
    f.fd = f.afd = -1;
  }
  std::string reopen(File& f) {
    close_fds(f);
    f.fd = ::open(f.path.c_str(), O_RDWR | O_CLOEXEC);
    if (f.fd < 0) return fail("open O_RDWR " + f.path.string(), errno);
    f.afd = ::open(f.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (f.afd < 0) return fail("open O_APPEND " + f.path.string(), errno);
    return {};
  }

  std::string check_range(File& f, size_t off, size_t len, const std::string& got,
                          const std::string& what) {
    std::string want = off < f.model.size() ? f.model.substr(off, len) : std::string();
    if (got == want) return {};
    return fail(what + " on " + f.path.filename().string() + " [" + std::to_string(off) + ", +" +
                std::to_string(len) + ") model size " + std::to_string(f.model.size()) + ": " +
                first_difference(want, got, off));
  }

  std::string check_whole(File& f, const std::string& what) {
    int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(what + ": open", errno);
    std::string all;
    std::vector<char> buf(1 << 16);
    ssize_t r;
    while ((r = ::read(fd, buf.data(), buf.size())) > 0) all.append(buf.data(), r);
    int e = errno;
    ::close(fd);
    if (r < 0) return fail(what + ": read", e);
    return check_range(f, 0, std::max(all.size(), f.model.size()) + 1, all, what);
  }

  std::string check_size(File& f, off_t size, const std::string& what) {
    if (static_cast<size_t>(size) == f.model.size()) return {};
    return fail(what + " on " + f.path.filename().string() + ": size " + std::to_string(size) +
                ", model " + std::to_string(f.model.size()));
  }

  void model_write(File& f, size_t off, const std::string& data) {
    if (f.model.size() < off + data.size()) f.model.resize(off + data.size(), '\0');
    f.model.replace(off, data.size(), data);
  }

  std::string step(File& f) {
    const std::string name = f.path.filename().string();
    unsigned kind = rng_() % 100;
    if (kind < 20) {  // pwrite
      size_t len = rand_len();
      size_t off = rand_off(max_size_ - len);
      std::string data = rand_data(len);
      note("pwrite " + name + " off " + std::to_string(off) + " len " + std::to_string(len));
      ssize_t r = ::pwrite(f.fd, data.data(), len, off);
      if (r != static_cast<ssize_t>(len))
        return fail("pwrite returned " + std::to_string(r), errno);
      model_write(f, off, data);
    } else if (kind < 40) {  // pread
      size_t len = rand_len();
      size_t off = rand_off(f.model.size() + 100);
      note("pread " + name + " off " + std::to_string(off) + " len " + std::to_string(len));
      std::string buf(len, '\0');
      ssize_t r = ::pread(f.fd, buf.data(), len, off);
      if (r < 0) return fail("pread", errno);
      buf.resize(r);
      return check_range(f, off, len, buf, "pread");
    } else if (kind < 48) {  // ftruncate
      size_t size = rng_() % 3 == 0 ? 0 : rand_off(max_size_);
      note("ftruncate " + name + " to " + std::to_string(size));
      if (::ftruncate(f.fd, size) != 0) return fail("ftruncate", errno);
      f.model.resize(size, '\0');
    } else if (kind < 52) {  // truncate by path
      size_t size = rand_off(max_size_);
      note("truncate " + name + " to " + std::to_string(size));
      if (::truncate(f.path.c_str(), size) != 0) return fail("truncate", errno);
      f.model.resize(size, '\0');
    } else if (kind < 58) {  // append
      size_t len = rand_len();
      if (f.model.size() + len > max_size_) return {};
      std::string data = rand_data(len);
      note("append " + name + " len " + std::to_string(len));
      ssize_t r = ::write(f.afd, data.data(), len);
      if (r != static_cast<ssize_t>(len))
        return fail("append returned " + std::to_string(r), errno);
      f.model += data;
    } else if (kind < 66) {  // write through a shared mapping
      if (f.model.empty()) return {};
      size_t off = rng_() % f.model.size();
      size_t len = std::min(rand_len(), f.model.size() - off);
      size_t start = off & ~size_t{4095};
      size_t maplen = off + len - start;
      bool sync = rng_() % 2;
      note("mmap write " + name + " off " + std::to_string(off) + " len " + std::to_string(len) +
           (sync ? " msync" : ""));
      void* m = ::mmap(nullptr, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, start);
      if (m == MAP_FAILED) return fail("mmap", errno);
      std::string data = rand_data(len);
      std::memcpy(static_cast<char*>(m) + (off - start), data.data(), len);
      int r = sync ? ::msync(m, maplen, MS_SYNC) : 0;
      int e = errno;
      ::munmap(m, maplen);
      if (r != 0) return fail("msync", e);
      model_write(f, off, data);
    } else if (kind < 74) {  // read through a mapping
      if (f.model.empty()) return {};
      size_t off = rng_() % f.model.size();
      size_t len = std::min(rand_len(), f.model.size() - off);
      size_t start = off & ~size_t{4095};
      size_t maplen = off + len - start;
      note("mmap read " + name + " off " + std::to_string(off) + " len " + std::to_string(len));
      void* m = ::mmap(nullptr, maplen, PROT_READ, MAP_SHARED, f.fd, start);
      if (m == MAP_FAILED) return fail("mmap", errno);
      std::string got(static_cast<char*>(m) + (off - start), len);
      ::munmap(m, maplen);
      return check_range(f, off, len, got, "mmap read");
    } else if (kind < 79) {  // fstat
      note("fstat " + name);
      struct stat st {};
      if (::fstat(f.fd, &st) != 0) return fail("fstat", errno);
      return check_size(f, st.st_size, "fstat");
    } else if (kind < 82) {  // stat by path
      note("stat " + name);
      struct stat st {};
      if (::stat(f.path.c_str(), &st) != 0) return fail("stat", errno);
      return check_size(f, st.st_size, "stat");
    } else if (kind < 85) {  // reopen
      note("reopen " + name);
      return reopen(f);
    } else if (kind < 87) {  // fsync
      note("fsync " + name);
      if ((rng_() % 2 ? ::fsync(f.fd) : ::fdatasync(f.fd)) != 0) return fail("fsync", errno);
    } else if (kind < 91) {  // whole file through a fresh fd
      note("read whole " + name);
      return check_whole(f, "read whole file");
    } else if (kind < 94) {  // punch a hole
      if (f.model.empty()) return {};
      size_t off = rand_off(f.model.size() - 1);
      size_t len = std::min(rand_len(), f.model.size() - off);
      note("punch hole " + name + " off " + std::to_string(off) + " len " + std::to_string(len));
      if (::fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0) {
        return fail("fallocate punch hole", errno);
      }
      std::fill_n(f.model.begin() + off, len, '\0');
    } else if (kind < 97) {  // copy_file_range from another file (or the same, disjoint)
      File& src = files_[rng_() % files_.size()];
      if (src.model.empty()) return {};
      size_t in = rng_() % src.model.size();
      size_t len = rand_len();
      size_t out = rand_off(max_size_ - len);
      if (&src == &f && in < out + len && out < in + len) return {};
      note("copy_file_range " + src.path.filename().string() + "@" + std::to_string(in) + " -> " +
           name + "@" + std::to_string(out) + " len " + std::to_string(len));
      loff_t lin = in, lout = out;
      ssize_t r = ::copy_file_range(src.fd, &lin, f.fd, &lout, len, 0);
      if (r < 0) return fail("copy_file_range", errno);
      size_t want = std::min(len, src.model.size() - in);
      if (static_cast<size_t>(r) != want) {
        return fail("copy_file_range copied " + std::to_string(r) + ", expected " +
                    std::to_string(want));
      }
      std::string data = src.model.substr(in, want);
      model_write(f, out, data);
    } else {  // read at the current offset after lseek
      size_t off = rand_off(f.model.size());
      size_t len = rand_len();
      note("lseek+read " + name + " off " + std::to_string(off) + " len " + std::to_string(len));
      if (::lseek(f.fd, off, SEEK_SET) != static_cast<off_t>(off)) return fail("lseek", errno);
      std::string buf(len, '\0');
      ssize_t r = ::read(f.fd, buf.data(), len);
      if (r < 0) return fail("read", errno);
      buf.resize(r);
      return check_range(f, off, len, buf, "read");
    }
    return {};
  }

  fs::path dir_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  size_t max_size_;
  std::vector<File> files_;
  std::deque<std::string> history_;
  int op_ = 0;
};

constexpr size_t kMaxSize = 512 * 1024;

// The same exerciser on a native directory: checks the model itself, so a failure on the mount
// is the mount's.
TEST(Exerciser, NativeControl) {
  confinefs::testing::TempTree tree;
  uint64_t seed = pick_seed();
  Exerciser ex(tree.path(), "f", 3, seed, kMaxSize);
  std::string err = ex.run(5000);
  EXPECT_EQ(err, "") << "seed " << seed;
}

TEST(Exerciser, RandomOpsOnMount) {
  Mount m;
  ASSERT_TRUE(m.ok());
  uint64_t seed = pick_seed();
  Exerciser ex(m.mnt(), "f", 4, seed, kMaxSize);
  std::string err = ex.run(20000);
  EXPECT_EQ(err, "") << "seed " << seed;
  // What the mount showed is what reached the host.
  EXPECT_EQ(ex.check_copies_in(m.backing()), "");
}

TEST(Exerciser, TwoThreadsOnDifferentFiles) {
  Mount m;
  ASSERT_TRUE(m.ok());
  uint64_t seed = pick_seed();
  Exerciser a(m.mnt(), "a", 2, seed, kMaxSize);
  Exerciser b(m.mnt(), "b", 2, seed + 1, kMaxSize);
  std::string err_a, err_b;
  std::thread ta([&] { err_a = a.run(10000); });
  std::thread tb([&] { err_b = b.run(10000); });
  ta.join();
  tb.join();
  EXPECT_EQ(err_a, "") << "thread a, seed " << seed;
  EXPECT_EQ(err_b, "") << "thread b, seed " << seed + 1;
  EXPECT_EQ(a.check_copies_in(m.backing()), "");
  EXPECT_EQ(b.check_copies_in(m.backing()), "");
}

}  // namespace
