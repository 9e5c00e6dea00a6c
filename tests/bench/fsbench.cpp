// fsbench: the metadata and small-I/O workloads of scripts/bench, timed in-process so that the
// numbers measure the filesystem and not an interpreter. Every subcommand prints its results as
// "name value unit" lines on stdout; errors go to stderr with a non-zero exit status.
//
//   fsbench meta DIR N                       create/stat warm/stat cold/list/list+stat/unlink
//   fsbench links DIR N                      symlink/lstat/readlink warm and cold of N links
//   fsbench depth DIR PREP DEPTHS WARM COLD  stat of a file DEPTHS (e.g. 1,16,64) dirs deep
//   fsbench readtree DIR                     read every regular file under DIR
//   fsbench build DIR UNITS JOBS             compile-like: many small reads, writes, renames
//   fsbench mkfiles DIR NDIRS PERDIR         make NDIRS*PERDIR empty files (setup)
//   fsbench lookup DIR NDIRS PERDIR          stat each of those files by name
//   fsbench seqwrite FILE MIB                write MIB MiB in 1 MiB blocks, then fsync
//   fsbench seqread FILE                     read FILE in 1 MiB blocks
//   fsbench mmapread FILE                    read FILE through a shared mapping, page by page
//   fsbench dropcaches LEVEL                 sync, then echo LEVEL > /proc/sys/vm/drop_caches
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fsbench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fsbench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void report(const char* name, double value, const char* unit) {
  std::printf("%s %.10g %s\n", name, value, unit);
  std::fflush(stdout);
}

long to_long(const char* s) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0) fail(std::string("bad number: ") + s);
  return v;
}

void drop_caches(int level) {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open /proc/sys/vm/drop_caches (needs root)");
  char c = static_cast<char>('0' + level);
  if (write(fd, &c, 1) != 1) die("write /proc/sys/vm/drop_caches");
  close(fd);
}

void mkdir_p(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) die("mkdir " + path);
}

int open_dir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open " + path);
  return fd;
}

void write_all(int fd, const char* buf, size_t len, const std::string& what) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write " + what);
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
}

// Reads fd to its end; returns the byte count.
size_t read_all(int fd, std::vector<char>& buf, const std::string& what) {
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read " + what);
    }
    if (n == 0) return total;
    total += static_cast<size_t>(n);
  }
}

void write_file(int dfd, const char* name, size_t size, char fill) {
  int fd = openat(dfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die(std::string("create ") + name);
  std::vector<char> buf(size, fill);
  write_all(fd, buf.data(), buf.size(), name);
  if (close(fd) != 0) die(std::string("close ") + name);
}

// Lists a directory with getdents; with do_stat, also fstatat()s every entry (ls -l).
size_t list_dir(int dfd, bool do_stat) {
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open . for listing");
  DIR* d = fdopendir(fd);
  if (d == nullptr) die("fdopendir");
  size_t count = 0;
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (do_stat) {
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        die(std::string("stat ") + e->d_name);
    }
    ++count;
  }
  if (errno != 0) die("readdir");
  closedir(d);
  return count;
}

int cmd_meta(const std::string& dir, long n) {
  if (mkdir(dir.c_str(), 0755) != 0) die("mkdir " + dir);
  int dfd = open_dir(dir);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(n));
  for (long i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "f%07ld", i);
    names.emplace_back(name);
  }
  struct stat st;

  auto t = Clock::now();
  for (const auto& name : names) {
    int fd = openat(dfd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) die("create " + name);
    if (close(fd) != 0) die("close " + name);
  }
  report("create", static_cast<double>(n) / seconds_since(t), "ops/s");

  t = Clock::now();
  for (const auto& name : names)
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) die("stat " + name);
  report("stat_warm", static_cast<double>(n) / seconds_since(t), "ops/s");

  close(dfd);
  drop_caches(3);
  dfd = open_dir(dir);
  t = Clock::now();
  for (const auto& name : names)
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) die("stat " + name);
  report("stat_cold", static_cast<double>(n) / seconds_since(t), "ops/s");

  t = Clock::now();
  size_t count = list_dir(dfd, false);
  report("list", static_cast<double>(count) / seconds_since(t), "entries/s");
  if (count != names.size())
    fail("listing found " + std::to_string(count) + " entries, expected " + std::to_string(n));

  close(dfd);
  drop_caches(3);
  dfd = open_dir(dir);
  t = Clock::now();
  count = list_dir(dfd, true);
  report("list_stat_cold", static_cast<double>(count) / seconds_since(t), "entries/s");
  if (count != names.size())
    fail("listing found " + std::to_string(count) + " entries, expected " + std::to_string(n));

  t = Clock::now();
  for (const auto& name : names)
    if (unlinkat(dfd, name.c_str(), 0) != 0) die("unlink " + name);
  report("unlink", static_cast<double>(n) / seconds_since(t), "ops/s");
  if (list_dir(dfd, false) != 0) fail("directory not empty after unlinking every file");
  close(dfd);
  if (rmdir(dir.c_str()) != 0) die("rmdir " + dir);
  return 0;
}

// N relative links, as npm's node_modules/.bin or a source tree has them: made, lstat'ed and read
// warm, then read again after the caches are dropped (each follow is a READLINK through FUSE).
int cmd_links(const std::string& dir, long n) {
  if (mkdir(dir.c_str(), 0755) != 0) die("mkdir " + dir);
  int dfd = open_dir(dir);
  std::vector<std::string> names;
  for (long i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "l%07ld", i);
    names.emplace_back(name);
  }
  const char* target = "../target/bin/tool.js";
  auto t = Clock::now();
  for (const auto& name : names)
    if (symlinkat(target, dfd, name.c_str()) != 0) die("symlink " + name);
  report("symlink", static_cast<double>(n) / seconds_since(t), "ops/s");
  struct stat st;
  t = Clock::now();
  for (const auto& name : names)
    if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode))
      die("lstat " + name);
  report("lstat_link_warm", static_cast<double>(n) / seconds_since(t), "ops/s");
  char buf[256];
  auto read_links = [&](const char* metric) {
    auto start = Clock::now();
    for (const auto& name : names) {
      ssize_t len = readlinkat(dfd, name.c_str(), buf, sizeof buf);
      if (len != static_cast<ssize_t>(std::strlen(target))) die("readlink " + name);
    }
    report(metric, static_cast<double>(n) / seconds_since(start), "ops/s");
  };
  read_links("readlink_warm");
  close(dfd);
  drop_caches(3);
  dfd = open_dir(dir);
  read_links("readlink_cold");
  for (const auto& name : names)
    if (unlinkat(dfd, name.c_str(), 0) != 0) die("unlink " + name);
  close(dfd);
  if (rmdir(dir.c_str()) != 0) die("rmdir " + dir);
  return 0;
}

std::vector<long> parse_list(const std::string& s) {
  std::vector<long> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(to_long(s.substr(pos, comma - pos).c_str()));
    pos = comma + 1;
  }
  return out;
}

std::string make_chain(const std::string& top, long depth) {
  std::string path = top;
  mkdir_p(path);
  for (long d = 1; d <= depth; ++d) {
    path += "/d";
    mkdir_p(path);
  }
  int dfd = open_dir(path);
  write_file(dfd, "f", 0, 0);
  close(dfd);
  return path + "/f";
}

// Warm: a file at each depth, made and stat()ed through DIR, then stat()ed WARM times. Cold: for
// each depth, COLD chains made directly in PREP (the backing directory behind DIR, or DIR itself
// for native), so that neither the kernel nor a daemon has seen their names; each is stat()ed
// once through DIR. Dropping caches instead would not do: the dcache shrinker frees a deep chain
// one level per pass and stops early.
int cmd_depth(const std::string& dir, const std::string& prep, const std::string& depths_arg,
              long warm, long cold) {
  std::vector<long> depths = parse_list(depths_arg);
  mkdir_p(dir);
  for (long d : depths) {
    std::string file = make_chain(dir + "/w" + std::to_string(d), d);
    struct stat st;
    if (stat(file.c_str(), &st) != 0) die("stat " + file);  // warm the caches
    auto t = Clock::now();
    for (long i = 0; i < warm; ++i)
      if (stat(file.c_str(), &st) != 0) die("stat " + file);
    std::string name = "stat_depth" + std::to_string(d) + "_warm";
    report(name.c_str(), seconds_since(t) * 1e6 / static_cast<double>(warm), "us");
  }
  for (long d : depths) {
    std::vector<std::string> files;
    for (long i = 0; i < cold; ++i) {
      std::string top = "c" + std::to_string(d) + "_" + std::to_string(i);
      std::string made = make_chain(prep + "/" + top, d);
      files.push_back(dir + "/" + made.substr(prep.size() + 1));
    }
    std::vector<double> samples;
    for (const auto& file : files) {
      struct stat st;
      auto t = Clock::now();
      if (stat(file.c_str(), &st) != 0) die("stat " + file);
      samples.push_back(seconds_since(t) * 1e6);
    }
    if (!samples.empty()) {
      std::sort(samples.begin(), samples.end());
      std::string name = "stat_depth" + std::to_string(d) + "_cold";
      report(name.c_str(), samples[samples.size() / 2], "us");
    }
  }
  return 0;
}

struct TreeStats {
  size_t files = 0;
  size_t bytes = 0;
};

void read_tree(int dfd, std::vector<char>& buf, TreeStats& stats) {
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open directory");
  DIR* d = fdopendir(fd);
  if (d == nullptr) die("fdopendir");
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        die(std::string("stat ") + e->d_name);
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_DIR) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (sub < 0) die(std::string("open directory ") + e->d_name);
      read_tree(sub, buf, stats);
      close(sub);
    } else if (type == DT_REG) {
      int f = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (f < 0) die(std::string("open ") + e->d_name);
      stats.bytes += read_all(f, buf, e->d_name);
      stats.files += 1;
      close(f);
    }
    errno = 0;
  }
  if (errno != 0) die("readdir");
  closedir(d);
}

int cmd_readtree(const std::string& dir) {
  std::vector<char> buf(128 * 1024);
  TreeStats stats;
  int dfd = open_dir(dir);
  auto t = Clock::now();
  read_tree(dfd, buf, stats);
  report("readtree", seconds_since(t), "s");
  report("readtree_files", static_cast<double>(stats.files), "files");
  report("readtree_bytes", static_cast<double>(stats.bytes), "bytes");
  close(dfd);
  return 0;
}

// A compile-like workload: JOBS workers each take translation units; a unit probes three include
// directories for each of its ten headers (the first two probes miss, as with -I search paths),
// reads the header, reads its source, writes an object to a temporary name and renames it. A
// final link reads every object and writes one binary.
int cmd_build(const std::string& dir, long units, long jobs) {
  constexpr long kHeaders = 50;
  constexpr size_t kHeaderSize = 4096, kSourceSize = 8192, kObjectSize = 32768;
  for (const char* sub : {"", "/inc0", "/inc1", "/inc2", "/src", "/obj"}) mkdir_p(dir + sub);
  {
    int dfd = open_dir(dir + "/inc2");
    for (long h = 0; h < kHeaders; ++h)
      write_file(dfd, ("h" + std::to_string(h) + ".h").c_str(), kHeaderSize, 'h');
    close(dfd);
    dfd = open_dir(dir + "/src");
    for (long u = 0; u < units; ++u)
      write_file(dfd, ("u" + std::to_string(u) + ".c").c_str(), kSourceSize, 'c');
    close(dfd);
  }
  std::atomic<long> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    std::vector<char> buf(64 * 1024);
    std::vector<char> obj(kObjectSize, 'o');
    struct stat st;
    char path[4096];
    for (long u = next++; u < units; u = next++) {
      for (long k = 0; k < 10; ++k) {
        long h = (u * 7 + k * 3) % kHeaders;
        for (int inc = 0; inc < 2; ++inc) {
          std::snprintf(path, sizeof path, "%s/inc%d/h%ld.h", dir.c_str(), inc, h);
          if (stat(path, &st) == 0 || errno != ENOENT) die(std::string("probe ") + path);
        }
        std::snprintf(path, sizeof path, "%s/inc2/h%ld.h", dir.c_str(), h);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(std::string("open ") + path);
        if (read_all(fd, buf, path) != kHeaderSize) failed = true;
        close(fd);
      }
      std::snprintf(path, sizeof path, "%s/src/u%ld.c", dir.c_str(), u);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) die(std::string("open ") + path);
      if (read_all(fd, buf, path) != kSourceSize) failed = true;
      close(fd);
      std::snprintf(path, sizeof path, "%s/obj/u%ld.o.tmp", dir.c_str(), u);
      fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) die(std::string("create ") + path);
      for (size_t off = 0; off < kObjectSize; off += 4096)
        write_all(fd, obj.data() + off, 4096, path);
      if (close(fd) != 0) die(std::string("close ") + path);
      char final_path[4096];
      std::snprintf(final_path, sizeof final_path, "%s/obj/u%ld.o", dir.c_str(), u);
      if (rename(path, final_path) != 0) die(std::string("rename ") + path);
    }
  };
  auto t = Clock::now();
  std::vector<std::thread> threads;
  for (long j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();
  {
    std::vector<char> buf(64 * 1024);
    int out = open((dir + "/a.out").c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0755);
    if (out < 0) die("create a.out");
    for (long u = 0; u < units; ++u) {
      std::string path = dir + "/obj/u" + std::to_string(u) + ".o";
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) die("open " + path);
      for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0) die("read " + path);
        if (n == 0) break;
        write_all(out, buf.data(), static_cast<size_t>(n), "a.out");
      }
      close(fd);
    }
    if (close(out) != 0) die("close a.out");
  }
  report("build", seconds_since(t), "s");
  struct stat st;
  if (stat((dir + "/a.out").c_str(), &st) != 0) die("stat a.out");
  if (failed || st.st_size != static_cast<off_t>(units * kObjectSize))
    fail("build produced wrong sizes (a.out is " + std::to_string(st.st_size) + " bytes)");
  return 0;
}

int cmd_mkfiles(const std::string& dir, long ndirs, long perdir) {
  mkdir_p(dir);
  for (long d = 0; d < ndirs; ++d) {
    std::string sub = dir + "/d" + std::to_string(d);
    mkdir_p(sub);
    int dfd = open_dir(sub);
    for (long f = 0; f < perdir; ++f) write_file(dfd, ("f" + std::to_string(f)).c_str(), 0, 0);
    close(dfd);
  }
  return 0;
}

int cmd_lookup(const std::string& dir, long ndirs, long perdir) {
  char path[4096];
  struct stat st;
  auto t = Clock::now();
  for (long d = 0; d < ndirs; ++d) {
    for (long f = 0; f < perdir; ++f) {
      std::snprintf(path, sizeof path, "%s/d%ld/f%ld", dir.c_str(), d, f);
      if (stat(path, &st) != 0) die(std::string("stat ") + path);
    }
  }
  double s = seconds_since(t);
  report("lookup", static_cast<double>(ndirs * perdir) / s, "ops/s");
  return 0;
}

int cmd_seqwrite(const std::string& file, long mib) {
  std::vector<char> buf(1 << 20, 'x');
  auto t = Clock::now();
  int fd = open(file.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die("create " + file);
  for (long i = 0; i < mib; ++i) write_all(fd, buf.data(), buf.size(), file);
  if (fsync(fd) != 0) die("fsync " + file);
  if (close(fd) != 0) die("close " + file);
  report("seq_write", static_cast<double>(mib) / seconds_since(t), "MiB/s");
  return 0;
}

int cmd_seqread(const std::string& file) {
  std::vector<char> buf(1 << 20);
  auto t = Clock::now();
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open " + file);
  size_t total = read_all(fd, buf, file);
  close(fd);
  double s = seconds_since(t);
  report("seq_read", static_cast<double>(total) / (1 << 20) / s, "MiB/s");
  report("seq_read_bytes", static_cast<double>(total), "bytes");
  return 0;
}

// Reads FILE through a shared read-only mapping, touching one byte per page (and summing them,
// so the reads cannot be left out).
int cmd_mmapread(const std::string& file) {
  auto t = Clock::now();
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open " + file);
  struct stat st {};
  if (fstat(fd, &st) != 0) die("fstat " + file);
  auto size = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) die("mmap " + file);
  const auto* bytes = static_cast<const volatile unsigned char*>(map);
  unsigned long sum = 0;
  for (size_t off = 0; off < size; off += 4096) sum += bytes[off];
  munmap(map, size);
  close(fd);
  double s = seconds_since(t);
  report("mmap_read", static_cast<double>(size) / (1 << 20) / s, "MiB/s");
  report("mmap_read_sum", static_cast<double>(sum % 1000), "checksum");
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: fsbench meta DIR N | links DIR N | depth DIR PREP DEPTHS WARM COLD |\n"
               "               readtree DIR |\n"
               "               build DIR UNITS JOBS | mkfiles DIR NDIRS PERDIR |\n"
               "               lookup DIR NDIRS PERDIR | seqwrite FILE MIB | seqread FILE |\n"
               "               mmapread FILE |\n"
               "               dropcaches LEVEL\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  if (cmd == "meta" && argc == 4) return cmd_meta(argv[2], to_long(argv[3]));
  if (cmd == "links" && argc == 4) return cmd_links(argv[2], to_long(argv[3]));
  if (cmd == "depth" && argc == 7)
    return cmd_depth(argv[2], argv[3], argv[4], to_long(argv[5]), to_long(argv[6]));
  if (cmd == "readtree" && argc == 3) return cmd_readtree(argv[2]);
  if (cmd == "build" && argc == 5) return cmd_build(argv[2], to_long(argv[3]), to_long(argv[4]));
  if (cmd == "mkfiles" && argc == 5)
    return cmd_mkfiles(argv[2], to_long(argv[3]), to_long(argv[4]));
  if (cmd == "lookup" && argc == 5) return cmd_lookup(argv[2], to_long(argv[3]), to_long(argv[4]));
  if (cmd == "seqwrite" && argc == 4) return cmd_seqwrite(argv[2], to_long(argv[3]));
  if (cmd == "seqread" && argc == 3) return cmd_seqread(argv[2]);
  if (cmd == "mmapread" && argc == 3) return cmd_mmapread(argv[2]);
  if (cmd == "dropcaches" && argc == 3) {
    long level = to_long(argv[2]);
    if (level < 1 || level > 3) return usage();
    drop_caches(static_cast<int>(level));
    return 0;
  }
  return usage();
}
