// Resolver against real directories: one case per static form of the attacks in
// docs/threat-model.md that the resolver stands against, each run with openat2 and with the openat
// fallback.
#include "fusefs/resolve/resolver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "fusefs/sys/syscalls.h"
#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::read_file;
using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;

class ResolverTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    backing_ = tree_.path() / "backing";
    outside_ = tree_.path() / "outside";
    fs::create_directories(backing_);
    fs::create_directories(outside_ / "dir");
    write_file(outside_ / "secret", "SECRET");
    auto r = Resolver::open_root(backing_.c_str());
    ASSERT_TRUE(r.ok()) << r.code();
    resolver_.emplace(std::move(r.value()));
    if (!GetParam()) resolver_->use_fallback_only();
  }

  Result<ResolvedEntry> lookup(const char* name) {
    auto n = Name::parse(name);
    EXPECT_TRUE(n.ok());
    return resolver_->lookup(resolver_->root(), n.value());
  }

  void expect_refused(const char* name, Refusal why) {
    auto r = lookup(name);
    ASSERT_FALSE(r.ok()) << name << " was admitted";
    EXPECT_EQ(r.code(), ENOENT) << name;
    EXPECT_EQ(r.error().refusal, why) << name << ": " << refusal_name(r.error().refusal);
  }

  TempTree tree_;
  fs::path backing_, outside_;
  std::optional<Resolver> resolver_;
};

TEST_P(ResolverTest, AdmitsRegularFilesAndDirectories) {
  write_file(backing_ / "file", "data");
  fs::create_directory(backing_ / "sub");
  auto f = lookup("file");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(S_ISREG(f->attr.st_mode));
  EXPECT_EQ(f->attr.st_size, 4);
  auto d = lookup("sub");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(S_ISDIR(d->attr.st_mode));
  // A directory handle walks one more component.
  auto inner_name = Name::parse("x");
  write_file(backing_ / "sub" / "x", "inner");
  EXPECT_TRUE(resolver_->lookup(d->handle.ref(), inner_name.value()).ok());
}

TEST_P(ResolverTest, AbsoluteSymlinkIsRefused) {
  fs::create_symlink(outside_ / "secret", backing_ / "abs");
  expect_refused("abs", Refusal::kSymlink);
}

TEST_P(ResolverTest, RelativeDotDotSymlinkIsRefused) {
  fs::create_symlink("../outside/secret", backing_ / "rel");
  expect_refused("rel", Refusal::kSymlink);
}

TEST_P(ResolverTest, ChainedSymlinkIsRefused) {
  fs::create_symlink(outside_ / "secret", backing_ / "second");
  fs::create_symlink("second", backing_ / "first");
  expect_refused("first", Refusal::kSymlink);
}

TEST_P(ResolverTest, SymlinkLoopIsRefused) {
  fs::create_symlink("loop", backing_ / "loop");
  expect_refused("loop", Refusal::kSymlink);
}

TEST_P(ResolverTest, SymlinkedIntermediateDirectoryIsRefused) {
  fs::create_directory_symlink(outside_ / "dir", backing_ / "linkdir");
  write_file(outside_ / "dir" / "inner", "OUTSIDE");
  expect_refused("linkdir", Refusal::kSymlink);
}

TEST_P(ResolverTest, StatChildDoesNotFollow) {
  fs::create_symlink(outside_ / "secret", backing_ / "abs");
  auto st = resolver_->stat_child(resolver_->root(), Name::parse("abs").value());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().refusal, Refusal::kSymlink);
}

TEST_P(ResolverTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((backing_ / "fifo").c_str(), 0644), 0);
  auto done = std::async(std::launch::async, [&] { return lookup("fifo"); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "lookup of a FIFO blocked";
  auto r = done.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().refusal, Refusal::kSpecialFile);
}

TEST_P(ResolverTest, DeviceNodeIsRefused) {
  if (::mknod((backing_ / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD";
  }
  expect_refused("null", Refusal::kSpecialFile);
}

TEST_P(ResolverTest, SocketIsRefused) {
  ASSERT_EQ(::mknod((backing_ / "sock").c_str(), S_IFSOCK | 0666, 0), 0);
  expect_refused("sock", Refusal::kSpecialFile);
}

TEST_P(ResolverTest, BindMountOfSameFilesystemIsRefused) {
  // Same st_dev as the backing directory: only the mount id tells it apart.
  fs::create_directory(backing_ / "bind");
  if (::mount(outside_.c_str(), (backing_ / "bind").c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "bind mount needs CAP_SYS_ADMIN";
  }
  expect_refused("bind", Refusal::kForeignMount);
  auto st = resolver_->stat_child(resolver_->root(), Name::parse("bind").value());
  EXPECT_EQ(st.error().refusal, Refusal::kForeignMount);
  ::umount2((backing_ / "bind").c_str(), MNT_DETACH);
}

TEST_P(ResolverTest, BindMountedFileIsRefused) {
  write_file(backing_ / "target", "inside");
  if (::mount((outside_ / "secret").c_str(), (backing_ / "target").c_str(), nullptr, MS_BIND,
              nullptr) != 0) {
    GTEST_SKIP() << "bind mount needs CAP_SYS_ADMIN";
  }
  expect_refused("target", Refusal::kForeignMount);
  ::umount2((backing_ / "target").c_str(), MNT_DETACH);
}

TEST_P(ResolverTest, HardlinkIsAdmittedWithItsLinkCount) {
  // The resolver shows it; verify.cpp refuses using it (see ops_test).
  fs::create_hard_link(outside_ / "secret", backing_ / "hl");
  auto r = lookup("hl");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->attr.st_nlink, 2u);
}

TEST_P(ResolverTest, CreateExclusiveNeverFollowsASymlink) {
  fs::create_symlink(outside_ / "secret", backing_ / "planted");
  auto r = resolver_->create_exclusive(resolver_->root(), Name::parse("planted").value(), O_WRONLY,
                                       0644);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), EEXIST);
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
}

TEST_P(ResolverTest, ReopenFollowsTheInodeNotTheName) {
  write_file(backing_ / "a", "first");
  auto r = lookup("a");
  ASSERT_TRUE(r.ok());
  // An outside process renames the file away and plants a symlink at the old name.
  fs::rename(backing_ / "a", backing_ / "moved");
  fs::create_symlink(outside_ / "secret", backing_ / "a");
  auto fd = resolver_->reopen(r->handle.ref(), O_RDONLY);
  ASSERT_TRUE(fd.ok());
  char buf[16] = {};
  auto n = sys::pread(fd->ref(), buf, sizeof buf, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, n.value()), "first");
}

TEST_P(ResolverTest, ReopenNeverCreatesOrTruncates) {
  write_file(backing_ / "keep", "content");
  auto r = lookup("keep");
  ASSERT_TRUE(r.ok());
  auto fd = resolver_->reopen(r->handle.ref(), O_WRONLY | O_TRUNC | O_CREAT);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(read_file(backing_ / "keep"), "content");
}

TEST_P(ResolverTest, RenameMovesASymlinkWithoutFollowingIt) {
  fs::create_symlink(outside_ / "secret", backing_ / "lnk");
  write_file(backing_ / "file", "mine");
  auto ok = resolver_->rename(resolver_->root(), Name::parse("file").value(), resolver_->root(),
                              Name::parse("lnk").value(), 0);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
  EXPECT_FALSE(fs::is_symlink(backing_ / "lnk"));
}

TEST_P(ResolverTest, BackingRootThatIsASymlinkIsRefused) {
  fs::create_directory_symlink(backing_, tree_.path() / "root-link");
  auto r = Resolver::open_root((tree_.path() / "root-link").c_str());
  EXPECT_FALSE(r.ok());
}

// Containment of a held handle (finding names and attributes after an outside rename-out).
TEST_P(ResolverTest, AHandleMovedOutOfBackingIsNotInside) {
  fs::create_directories(backing_ / "work/sub");
  auto work = lookup("work");
  ASSERT_TRUE(work.ok());
  EXPECT_TRUE(resolver_->check_inside(resolver_->root()).ok());
  EXPECT_TRUE(resolver_->check_inside(work->handle.ref()).ok());
  fs::rename(backing_ / "work", outside_ / "work");
  auto moved = resolver_->check_inside(work->handle.ref());
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.code(), ESTALE);
  EXPECT_EQ(moved.error().refusal, Refusal::kMovedOut);
  // A sibling whose name starts with BACKING's is not beneath it.
  fs::rename(outside_ / "work", tree_.path() / "backing2");
  EXPECT_FALSE(resolver_->check_inside(work->handle.ref()).ok());
  // Moved back in, it is inside again; removed inside, it still is (its attributes stay
  // readable through fds the client holds).
  fs::rename(tree_.path() / "backing2", backing_ / "back");
  EXPECT_TRUE(resolver_->check_inside(work->handle.ref()).ok());
  fs::remove(backing_ / "back/sub");
  fs::remove(backing_ / "back");
  EXPECT_TRUE(resolver_->check_inside(work->handle.ref()).ok());
}

// Beyond PATH_MAX the kernel cannot name the handle; containment is then proven by walking "..".
TEST_P(ResolverTest, ContainmentOfHandlesDeeperThanPathMax) {
  std::string component(200, 'd');
  Fd dir(::open(backing_.c_str(), O_PATH | O_DIRECTORY));
  for (int i = 0; i < 25; ++i) {  // 25 * 201 bytes: past PATH_MAX
    ASSERT_EQ(::mkdirat(dir.get(), component.c_str(), 0755), 0);
    dir = Fd(::openat(dir.get(), component.c_str(), O_PATH | O_DIRECTORY));
    ASSERT_TRUE(dir.valid());
  }
  EXPECT_TRUE(resolver_->check_inside(dir.ref()).ok());
  ASSERT_EQ(::renameat(AT_FDCWD, (backing_ / component).c_str(), AT_FDCWD,
                       (outside_ / component).c_str()),
            0);
  auto moved = resolver_->check_inside(dir.ref());
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().refusal, Refusal::kMovedOut);
}

// Threat 44: past PATH_MAX the containment check climbs `..`; a tenant nesting thousands of
// levels made every request below climb all of them. The climb is bounded: a handle more than
// 256 levels below the last name the kernel can still spell is ENAMETOOLONG (the previous build
// climbed up to 4,096 levels on every lookup, getattr, xattr read and listing).
TEST_P(ResolverTest, ContainmentPastPathMaxClimbsABoundedWay) {
  std::string component(200, 'd');
  Fd dir(::open(backing_.c_str(), O_PATH | O_DIRECTORY));
  auto down = [&](const std::string& name) {
    ASSERT_EQ(::mkdirat(dir.get(), name.c_str(), 0755), 0);
    dir = Fd(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY));
    ASSERT_TRUE(dir.valid());
  };
  for (int i = 0; i < 25; ++i) down(component);  // past PATH_MAX
  for (int i = 0; i < 100; ++i) down("x");
  EXPECT_TRUE(resolver_->check_inside(dir.ref()).ok()) << "100 short levels below: climbed";
  for (int i = 0; i < 300; ++i) down("x");
  auto deep = resolver_->check_inside(dir.ref());
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.code(), ENAMETOOLONG);
}

INSTANTIATE_TEST_SUITE_P(Openat2AndFallback, ResolverTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "openat2" : "fallback"; });

TEST(NameTest, RejectsEverythingButOnePlainComponent) {
  for (const char* bad :
       {"", ".", "..", "a/b", "/", "a/", "../x", "new\nline", "tab\there", "del\x7f"}) {
    auto n = Name::parse(bad);
    EXPECT_FALSE(n.ok()) << "accepted " << bad;
    EXPECT_EQ(n.error().refusal, Refusal::kHostileName);
  }
  std::string longest(NAME_MAX, 'x');
  EXPECT_TRUE(Name::parse(longest.c_str()).ok());
  std::string too_long(NAME_MAX + 1, 'x');
  EXPECT_EQ(Name::parse(too_long.c_str()).code(), ENAMETOOLONG);
  for (const char* good : {"...", ".hidden", "a b", "ünïcode", "-rf"}) {
    EXPECT_TRUE(Name::parse(good).ok()) << good;
  }
}

}  // namespace
}  // namespace confinefs
