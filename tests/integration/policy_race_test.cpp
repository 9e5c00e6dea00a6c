// Race: an outside process renames and symlinks paths in the backing directory while clients
// probe a hidden and a denied path through the mount, by name and through a directory fd the
// kernel already resolved. Nothing hidden is ever seen, nothing denied is ever opened, and no
// content that lives under the hidden tree is ever read (the attacker moves /public into
// /secret and plants secret content in it, then moves it back).
#include <dirent.h>

#include <atomic>
#include <thread>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDuration = std::chrono::seconds(3);
// The attacker never pauses, so on a slow machine (sanitizers, load) the probes may find /public
// in place only rarely: the race then goes on until they got through, up to this long.
constexpr auto kMaxDuration = std::chrono::seconds(30);

constexpr const char* kPolicy = R"(version: 1
rules:
  - {path: /secret, access: hidden}
  - {path: /deny, access: deny}
)";

struct Tally {
  std::atomic<int> violations{0};
  std::atomic<int> reads{0};  // successful reads, to show the probes ran
  std::string first;
  std::mutex mutex;
  void violation(const std::string& what) {
    if (violations.fetch_add(1) == 0) {
      std::lock_guard lock(mutex);
      first = what;
    }
  }
};

std::string read_fd(int fd) {
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void attacker(const fs::path& b, const std::atomic<bool>& stop) {
  std::error_code ec;
  while (!stop) {
    // /public moves under the hidden tree, gets secret content, and comes back without it.
    fs::rename(b / "public", b / "secret/inner", ec);
    // Not write_file: it throws when a move above did not happen, and the race goes on anyway.
    if (int fd = ::open((b / "secret/inner/s2").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        fd >= 0) {
      (void)!::write(fd, "SECRET", 6);
      ::close(fd);
    }
    fs::remove(b / "secret/inner/s2", ec);
    fs::rename(b / "secret/inner", b / "public", ec);
    // Links planted towards the hidden and denied trees: never followed through the mount.
    fs::create_directory_symlink("secret", b / "link", ec);
    fs::create_symlink("../deny/d", b / "public/d-link", ec);
    fs::remove(b / "link", ec);
    fs::remove(b / "public/d-link", ec);
    // The denied file swapped for a public one and back: the name decides, not the inode.
    fs::rename(b / "deny/d", b / "deny/d.bak", ec);
    fs::rename(b / "deny/d.bak", b / "deny/d", ec);
  }
}

void probe_names(const fs::path& m, const std::atomic<bool>& stop, Tally* t) {
  while (!stop) {
    if (stat_errno(m / "secret") != ENOENT) t->violation("stat /secret");
    if (stat_errno(m / "secret/inner/s2") != ENOENT) t->violation("stat /secret/inner/s2");
    for (const char* p : {"deny/d", "deny", "link/s", "public/d-link"}) {
      int fd = ::open((m / p).c_str(), O_RDONLY);
      if (fd >= 0) {
        ::close(fd);
        t->violation(std::string("opened ") + p);
      }
    }
    for (const char* p : {"public/f", "public/s2"}) {
      int fd = ::open((m / p).c_str(), O_RDONLY);
      if (fd < 0) continue;
      std::string got = read_fd(fd);
      if (got == "SECRET") t->violation(std::string("read secret content via ") + p);
      t->reads.fetch_add(1);
    }
    std::error_code ec;
    for (auto it = fs::directory_iterator(m, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (it->path().filename() == "secret") t->violation("listed /secret");
    }
  }
}

// Through a directory fd resolved while /public was public: its later moves must not let the
// stale name reach what is now under /secret.
void probe_stale_fd(const fs::path& m, const std::atomic<bool>& stop, Tally* t) {
  int dir = -1;
  while (!stop) {
    if (dir < 0) dir = ::open((m / "public").c_str(), O_RDONLY | O_DIRECTORY);
    if (dir < 0) continue;
    for (const char* name : {"s2", "f"}) {
      int fd = ::openat(dir, name, O_RDONLY);
      if (fd < 0) continue;
      if (read_fd(fd) == "SECRET") t->violation(std::string("read secret via stale fd: ") + name);
      t->reads.fetch_add(1);
    }
    if (DIR* d = ::fdopendir(::dup(dir))) {
      while (dirent* e = ::readdir(d)) {
        if (std::string(e->d_name) == "s2") t->violation("listed s2 through a stale directory");
      }
      ::closedir(d);
    }
  }
  if (dir >= 0) ::close(dir);
}

TEST(PolicyRaceTest, RenamesAndSymlinksNeverRevealHiddenOrOpenDenied) {
  TempTree files;
  write_file(files.path() / "p.yaml", kPolicy);
  // Default cache timeouts: the kernel keeps names and attributes for a second, so stale
  // dentries are used as a client would use them.
  Mount m({"-o", "policy=" + (files.path() / "p.yaml").string()});
  ASSERT_TRUE(m.ok());
  const fs::path& b = m.backing();
  for (const char* d : {"public", "secret", "deny"}) fs::create_directories(b / d);
  write_file(b / "public/f", "PUBLIC");
  write_file(b / "secret/s", "SECRET");
  write_file(b / "deny/d", "DENIED");

  std::atomic<bool> stop{false};
  Tally tally;
  std::thread attack(attacker, b, std::cref(stop));
  std::thread names1(probe_names, m.mnt(), std::cref(stop), &tally);
  std::thread names2(probe_names, m.mnt(), std::cref(stop), &tally);
  std::thread stale(probe_stale_fd, m.mnt(), std::cref(stop), &tally);
  auto start = Clock::now();
  while (Clock::now() - start < kDuration ||
         (tally.reads.load() == 0 && Clock::now() - start < kMaxDuration)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  for (auto* th : {&attack, &names1, &names2, &stale}) th->join();

  EXPECT_EQ(tally.violations.load(), 0) << "first: " << tally.first;
  EXPECT_GT(tally.reads.load(), 0) << "the probes never got through";
}

}  // namespace
}  // namespace confinefs::testing
