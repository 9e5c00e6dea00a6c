// The operations layer over a real temporary backing directory, without /dev/fuse: every check in
// verify.cpp and every default in the core issue's tables, at the level the kernel calls them.
#include "fusefs/ops/ops.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <set>

#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::read_file;
using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;
constexpr uint64_t kRoot = NodeTable::kRootId;

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = tree_.path() / "backing";
    outside_ = tree_.path() / "outside";
    fs::create_directories(backing_);
    fs::create_directories(outside_);
    write_file(outside_ / "secret", "SECRET");
    auto r = Resolver::open_root(backing_.c_str());
    ASSERT_TRUE(r.ok());
    fs_.emplace(std::move(r.value()), FilesystemConfig{}, policy::Policy::defaults());
  }

  uint64_t lookup(const char* name, uint64_t parent = kRoot) {
    auto e = ops::lookup(req(Op::kLookup), parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.code();
    return e ? e->id : 0;
  }

  std::set<std::string> list(uint64_t dir_id) {
    auto dir = ops::opendir(req(Op::kOpendir), dir_id);
    EXPECT_TRUE(dir.ok());
    std::set<std::string> names;
    auto scope = ops::listing_scope(req(Op::kReaddir), *dir.value(), true, true);
    EXPECT_TRUE(scope.ok());
    for (; scope;) {
      auto e = ops::peek_entry(req(Op::kReaddir), *dir.value(), scope.value());
      if (!e || !e->has_value()) break;
      names.insert((*e)->name);
      dir.value()->stream.consume();
    }
    return names;
  }

  // The request a FUSE handler would build for op.
  Request req(Op op) { return Request{*fs_, caller_, op}; }

  TempTree tree_;
  fs::path backing_, outside_;
  std::optional<Filesystem> fs_;
  Caller caller_{};
};

TEST_F(OpsTest, LookupCountsAndForgetReleasesNodes) {
  write_file(backing_ / "f", "x");
  size_t before = fs_->nodes().size();
  uint64_t a = lookup("f");
  uint64_t b = lookup("f");
  EXPECT_EQ(a, b) << "one node per (dev, ino)";
  EXPECT_EQ(fs_->nodes().size(), before + 1);
  ops::forget(req(Op::kForget), a, 1);
  EXPECT_EQ(fs_->nodes().size(), before + 1);
  ops::forget(req(Op::kForget), a, 1);
  EXPECT_EQ(fs_->nodes().size(), before);
  EXPECT_EQ(ops::getattr(req(Op::kGetattr), a).code(), ESTALE);
}

TEST_F(OpsTest, CreateOntoPlantedSymlinkIsRefusedAndTargetUntouched) {
  fs::create_symlink(outside_ / "secret", backing_ / "results.json");
  auto made =
      ops::create(req(Op::kCreate), kRoot, "results.json", 0644, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.code(), EACCES);
  EXPECT_EQ(made.error().refusal, Refusal::kSymlink);
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
  auto excl =
      ops::create(req(Op::kCreate), kRoot, "results.json", 0644, O_WRONLY | O_CREAT | O_EXCL);
  EXPECT_EQ(excl.code(), EEXIST);
}

TEST_F(OpsTest, CreateOntoAnExistingFileLeavesItToTheKernelsOpen) {
  // CREATE comes only for a name the kernel believed free: the file there was never checked
  // against the caller, so it is not opened (ESTALE: the kernel looks it up and sends OPEN).
  write_file(backing_ / "out", "old content");
  auto made = ops::create(req(Op::kCreate), kRoot, "out", 0644, O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_EQ(made.code(), ESTALE);
  EXPECT_EQ(read_file(backing_ / "out"), "old content");
  auto opened = ops::open(req(Op::kOpen), lookup("out"), O_WRONLY | O_TRUNC);
  ASSERT_TRUE(opened.ok()) << opened.code();
  ASSERT_TRUE(ops::write(req(Op::kWrite), **opened, "new", 3, 0).ok());
  ops::release(*fs_, std::move(opened.value()));
  EXPECT_EQ(read_file(backing_ / "out"), "new");
}

TEST_F(OpsTest, HardlinkedFileRefusesOpenTruncateAndMetadataButAllowsUnlink) {
  fs::create_hard_link(outside_ / "secret", backing_ / "hl");
  uint64_t id = lookup("hl");
  for (int flags : {O_RDONLY, O_WRONLY, O_RDWR, O_WRONLY | O_TRUNC}) {
    auto f = ops::open(req(Op::kOpen), id, flags);
    ASSERT_FALSE(f.ok()) << flags;
    EXPECT_EQ(f.code(), EACCES);
    EXPECT_EQ(f.error().refusal, Refusal::kHardlink);
  }
  auto create = ops::create(req(Op::kCreate), kRoot, "hl", 0644, O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_EQ(create.code(), ESTALE);  // left to OPEN, which refuses it (above)
  ops::AttrChange chmod;
  chmod.mode = 0777;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, chmod, nullptr).code(), EACCES);
  ops::AttrChange trunc;
  trunc.size = 0;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, trunc, nullptr).code(), EACCES);
  ops::AttrChange times;
  times.mtime = timespec{1, 0};
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, times, nullptr).code(), EACCES);
  EXPECT_EQ(ops::setxattr(req(Op::kSetxattr), id, "user.x", "1", 1, 0).code(), EACCES);
  char buf[8];
  EXPECT_EQ(ops::getxattr(req(Op::kGetxattr), id, "user.x", buf, sizeof buf).code(), EACCES);
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
  struct stat st {};
  ASSERT_EQ(::stat((outside_ / "secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_TRUE(ops::rename(req(Op::kRename), kRoot, "hl", kRoot, "hl2", 0).ok());
  EXPECT_TRUE(ops::unlink(req(Op::kUnlink), kRoot, "hl2").ok());
  EXPECT_TRUE(fs::exists(outside_ / "secret"));
}

TEST_F(OpsTest, HardlinkStaysRefusedAfterItsBackingNameIsRemoved) {
  // ln /outside/secret BACKING/x; lookup x; rm BACKING/x: the inode now has one link, outside.
  fs::create_hard_link(outside_ / "secret", backing_ / "x");
  uint64_t id = lookup("x");
  fs::remove(backing_ / "x");
  EXPECT_EQ(ops::open(req(Op::kOpen), id, O_WRONLY).code(), EACCES);
  EXPECT_EQ(ops::open(req(Op::kOpen), id, O_RDONLY).code(), EACCES);
  ops::AttrChange chmod;
  chmod.mode = 0600;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, chmod, nullptr).code(), EACCES);
  EXPECT_EQ(ops::setxattr(req(Op::kSetxattr), id, "user.x", "1", 1, 0).code(), EACCES);
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
  EXPECT_EQ(fs::status(outside_ / "secret").permissions(), fs::perms(0644));
}

TEST_F(OpsTest, FileWhoseNameWasTakenAwayIsNotOpenedButLookedUpAgain) {
  // The open grabbed the inode through a backing hardlink that is gone by the time of the check:
  // simulated by a node whose recorded name now names another file.
  write_file(backing_ / "r", "benign");
  uint64_t id = lookup("r");
  fs::rename(backing_ / "r", outside_ / "moved-out");
  write_file(backing_ / "r", "other");
  auto f = ops::open(req(Op::kOpen), id, O_RDONLY);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.code(), ESTALE);
  uint64_t again = lookup("r");
  EXPECT_NE(again, id);
  auto g = ops::open(req(Op::kOpen), again, O_RDONLY);
  ASSERT_TRUE(g.ok());
  ops::release(*fs_, std::move(g.value()));
}

TEST_F(OpsTest, HardlinkMadeAfterOpenStillBlocksMetadataChange) {
  write_file(backing_ / "f", "x");
  uint64_t id = lookup("f");
  auto file = ops::open(req(Op::kOpen), id, O_RDWR);
  ASSERT_TRUE(file.ok());
  fs::create_hard_link(backing_ / "f", outside_ / "second-name");
  ops::AttrChange chmod;
  chmod.mode = 0600;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, chmod, file.value().get()).code(), EACCES);
  ops::release(*fs_, std::move(file.value()));
}

TEST_F(OpsTest, SetuidAndSetgidBitsAreNeverStored) {
  auto made = ops::create(req(Op::kCreate), kRoot, "x", 06755, O_WRONLY | O_CREAT);
  ASSERT_TRUE(made.ok());
  ops::release(*fs_, std::move(made->file));
  EXPECT_EQ(fs::status(backing_ / "x").permissions(), fs::perms(0755));
  ops::AttrChange chmod;
  chmod.mode = 06777;
  auto st = ops::setattr(req(Op::kSetattr), made->entry.id, chmod, nullptr);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_mode & 07777, 0777u);
  struct stat host {};
  ASSERT_EQ(::stat((backing_ / "x").c_str(), &host), 0);
  EXPECT_EQ(host.st_mode & 07777, 0777u);
}

TEST_F(OpsTest, ChownToAnotherUserIsRefused) {
  write_file(backing_ / "f", "x");
  uint64_t id = lookup("f");
  ops::AttrChange chown;
  chown.uid = 4242;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, chown, nullptr).code(), EPERM);
  ops::AttrChange chgrp;
  chgrp.gid = 4242;
  EXPECT_EQ(ops::setattr(req(Op::kSetattr), id, chgrp, nullptr).code(), EPERM);
  ops::AttrChange same;
  same.uid = 0;
  same.gid = 0;
  EXPECT_TRUE(ops::setattr(req(Op::kSetattr), id, same, nullptr).ok());
}

TEST_F(OpsTest, ListingHidesEverythingLookupRefuses) {
  write_file(backing_ / "file", "x");
  fs::create_directory(backing_ / "dir");
  fs::create_symlink(outside_ / "secret", backing_ / "link");
  ASSERT_EQ(::mkfifo((backing_ / "fifo").c_str(), 0644), 0);
  ASSERT_EQ(::mknod((backing_ / "sock").c_str(), S_IFSOCK | 0644, 0), 0);
  write_file(backing_ / "bad\nname", "x");
  EXPECT_EQ(list(kRoot), (std::set<std::string>{".", "..", "file", "dir"}));
}

TEST_F(OpsTest, HardlinksAndDevicesAreRefusedAndCreateNothing) {
  write_file(backing_ / "f", "x");
  EXPECT_EQ(ops::refuse_hardlink(req(Op::kLink), kRoot, "h").code(), EPERM);
  EXPECT_EQ(ops::mknod(req(Op::kMknod), kRoot, "c", S_IFCHR | 0644).code(), EPERM);
  EXPECT_EQ(ops::mknod(req(Op::kMknod), kRoot, "b", S_IFBLK | 0644).code(), EPERM);
  EXPECT_TRUE(ops::mknod(req(Op::kMknod), kRoot, "r", S_IFREG | 0644).ok());
  std::set<std::string> names;
  for (auto& e : fs::directory_iterator(backing_)) names.insert(e.path().filename());
  EXPECT_EQ(names, (std::set<std::string>{"f", "r"}));
}

TEST_F(OpsTest, RenameOntoAnInvisibleNameIsRefused) {
  write_file(backing_ / "f", "mine");
  fs::create_symlink(outside_ / "secret", backing_ / "lnk");
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "f", kRoot, "lnk", 0).code(), EACCES);
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "f", kRoot, "lnk", RENAME_EXCHANGE).code(),
            EACCES);
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "lnk", kRoot, "g", 0).code(), ENOENT);
  EXPECT_EQ(ops::unlink(req(Op::kUnlink), kRoot, "lnk").code(), ENOENT);
  EXPECT_TRUE(fs::is_symlink(backing_ / "lnk"));
  EXPECT_EQ(read_file(outside_ / "secret"), "SECRET");
}

TEST_F(OpsTest, RenameFlags) {
  write_file(backing_ / "a", "A");
  write_file(backing_ / "b", "B");
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "a", kRoot, "b", RENAME_NOREPLACE).code(), EEXIST);
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "a", kRoot, "b", RENAME_WHITEOUT).code(), EINVAL);
  ASSERT_TRUE(ops::rename(req(Op::kRename), kRoot, "a", kRoot, "b", RENAME_EXCHANGE).ok());
  EXPECT_EQ(read_file(backing_ / "a"), "B");
  EXPECT_EQ(read_file(backing_ / "b"), "A");
}

TEST_F(OpsTest, RenameKeepsVirtualPaths) {
  fs::create_directory(backing_ / "d");
  write_file(backing_ / "f", "x");
  uint64_t d = lookup("d");
  uint64_t f = lookup("f");
  ASSERT_TRUE(ops::rename(req(Op::kRename), kRoot, "f", d, "g", 0).ok());
  EXPECT_EQ(fs_->nodes().virtual_path(f), "/d/g");
}

TEST_F(OpsTest, OnlyUserXattrsAreReachable) {
  write_file(backing_ / "f", "x");
  ASSERT_EQ(::setxattr((backing_ / "f").c_str(), "trusted.hidden", "t", 1, 0), 0);
  uint64_t id = lookup("f");
  EXPECT_TRUE(ops::setxattr(req(Op::kSetxattr), id, "user.k", "v", 1, 0).ok());
  char buf[64];
  auto got = ops::getxattr(req(Op::kGetxattr), id, "user.k", buf, sizeof buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(buf, got.value()), "v");
  // As a filesystem without those namespaces answers (overlayfs on top then skips trusted.*).
  EXPECT_EQ(ops::setxattr(req(Op::kSetxattr), id, "trusted.x", "v", 1, 0).code(), EOPNOTSUPP);
  EXPECT_EQ(ops::setxattr(req(Op::kSetxattr), id, "security.capability", "v", 1, 0).code(),
            EOPNOTSUPP);
  EXPECT_EQ(ops::getxattr(req(Op::kGetxattr), id, "trusted.hidden", buf, sizeof buf).code(),
            ENODATA);
  EXPECT_EQ(ops::removexattr(req(Op::kRemovexattr), id, "trusted.hidden").code(), EOPNOTSUPP);
  auto size = ops::listxattr(req(Op::kListxattr), id, nullptr, 0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size.value(), sizeof("user.k"));
  auto listed = ops::listxattr(req(Op::kListxattr), id, buf, sizeof buf);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(std::string(buf, listed.value() - 1), "user.k");
  EXPECT_EQ(ops::listxattr(req(Op::kListxattr), id, buf, 3).code(), ERANGE);
  EXPECT_TRUE(ops::removexattr(req(Op::kRemovexattr), id, "user.k").ok());
}

TEST_F(OpsTest, HostileNamesAreRefusedBeforeAnySyscall) {
  for (const char* bad : {"..", ".", "a/b", "x\ny"}) {
    EXPECT_FALSE(ops::lookup(req(Op::kLookup), kRoot, bad).ok()) << bad;
    EXPECT_FALSE(ops::create(req(Op::kCreate), kRoot, bad, 0644, O_CREAT | O_WRONLY).ok()) << bad;
    EXPECT_FALSE(ops::mkdir(req(Op::kMkdir), kRoot, bad, 0755).ok()) << bad;
  }
  EXPECT_EQ(fs::directory_iterator(backing_), fs::directory_iterator());
}

TEST_F(OpsTest, NodeOfAFileCannotBeUsedAsADirectory) {
  write_file(backing_ / "f", "x");
  uint64_t f = lookup("f");
  EXPECT_EQ(ops::lookup(req(Op::kLookup), f, "x").code(), ENOTDIR);
  EXPECT_EQ(ops::create(req(Op::kCreate), f, "x", 0644, O_CREAT | O_WRONLY).code(), ENOTDIR);
}

TEST_F(OpsTest, SwappedDirectoryKeepsOperationsOnTheLookedUpInode) {
  fs::create_directory(backing_ / "d");
  uint64_t d = lookup("d");
  // An outside process replaces d with a symlink to a directory outside.
  fs::rename(backing_ / "d", backing_ / "d.orig");
  fs::create_directory_symlink(outside_, backing_ / "d");
  auto made = ops::create(req(Op::kCreate), d, "new", 0644, O_CREAT | O_WRONLY);
  ASSERT_TRUE(made.ok());
  ops::release(*fs_, std::move(made->file));
  EXPECT_TRUE(fs::exists(backing_ / "d.orig" / "new"));
  EXPECT_FALSE(fs::exists(outside_ / "new"));
}

}  // namespace
}  // namespace confinefs
