// Requests the kernel resends after their daemon died (mount/attempt_log.h, ops/replay.h), at the
// level of the operations, without /dev/fuse: the host is left as the predecessor left it (its
// change made or not), the request comes again with the predecessor's record, and each is
// answered once: made when it had not happened, answered without a second change when it had,
// refused with EIO and an audit line when the host shows neither.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <ctime>

#include "fusefs/mount/parking.h"
#include "fusefs/ops/ops.h"
#include "fusefs/ops/replay.h"
#include "fusefs/sys/syscalls.h"
#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::read_file;
using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;
constexpr uint64_t kRoot = NodeTable::kRootId;

int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = tree_.path() / "backing";
    fs::create_directories(backing_);
    auto r = Resolver::open_root(backing_.c_str());
    ASSERT_TRUE(r.ok());
    fs_.emplace(std::move(r.value()), FilesystemConfig{}, policy::Policy::defaults());
    auto log = AttemptLog::create({1, 2});
    ASSERT_TRUE(log);
    fs_->keep_attempts(std::move(log.value()));
  }

  // What the predecessor recorded before it died, for a request of op.
  Attempt begun(Op op) {
    Attempt a;
    a.op = static_cast<uint32_t>(op);
    a.begun_ns = now_ns();
    return a;
  }
  // The request again, as the kernel resends it.
  Request resent(Op op, const Attempt& past) {
    Request r{*fs_, Caller{}, op};
    r.unique = 77;
    r.past = past;
    return r;
  }
  InodeKey key(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return InodeKey{st.st_dev, st.st_ino};
  }
  uint64_t refusals() { return fs_->counters().refusals.load(); }

  TempTree tree_;
  fs::path backing_;
  std::optional<Filesystem> fs_;
};

TEST_F(ReplayTest, ARemovalThatHappenedIsNotMadeAgain) {
  write_file(backing_ / "a", "first");
  Attempt past = begun(Op::kUnlink);
  past.before[0] = key(backing_ / "a");
  // Held open: the host does not give its inode number to the new file (identities are (dev, ino),
  // docs/design.md "Surviving the daemon").
  Fd held(::open((backing_ / "a").c_str(), O_RDONLY | O_CLOEXEC));
  fs::remove(backing_ / "a");             // the predecessor's unlink, made before it died
  write_file(backing_ / "a", "another");  // and a new file of the name since
  EXPECT_TRUE(ops::unlink(resent(Op::kUnlink, past), kRoot, "a"));
  EXPECT_EQ(read_file(backing_ / "a"), "another") << "answered, not made twice";
}

TEST_F(ReplayTest, ARemovalThatDidNotHappenIsMade) {
  write_file(backing_ / "a", "x");
  Attempt past = begun(Op::kUnlink);
  past.before[0] = key(backing_ / "a");
  EXPECT_TRUE(ops::unlink(resent(Op::kUnlink, past), kRoot, "a"));
  EXPECT_FALSE(fs::exists(backing_ / "a"));
}

TEST_F(ReplayTest, ADoneRequestGetsItsRecordedAnswer) {
  Attempt past = begun(Op::kMkdir);
  past.done = true;
  past.result = -EEXIST;
  EXPECT_EQ(ops::mkdir(resent(Op::kMkdir, past), kRoot, "d", 0755).code(), EEXIST);
  EXPECT_FALSE(fs::exists(backing_ / "d")) << "nothing made";
  fs::create_directory(backing_ / "d");
  past.result = 0;
  past.made = key(backing_ / "d");
  auto entry = ops::mkdir(resent(Op::kMkdir, past), kRoot, "d", 0755);
  ASSERT_TRUE(entry) << entry.code();
  EXPECT_EQ(entry->attr.st_ino, past.made->ino);
}

TEST_F(ReplayTest, AParkedRenameGoesBackAndIsMade) {
  write_file(backing_ / "a", "moving");
  InodeKey a = key(backing_ / "a");
  Attempt past = begun(Op::kRename);
  past.before = {a, std::nullopt};
  past.parking = std::string(kMovingPrefix) + "1-2";
  fs::rename(backing_ / "a", backing_ / past.parking);  // parked when the predecessor died
  EXPECT_TRUE(ops::rename(resent(Op::kRename, past), kRoot, "a", kRoot, "b", 0));
  EXPECT_EQ(key(backing_ / "b"), a);
  EXPECT_FALSE(fs::exists(backing_ / past.parking));
  EXPECT_FALSE(fs::exists(backing_ / "a"));
}

TEST_F(ReplayTest, AnExchangeIsNotMadeTwice) {
  write_file(backing_ / "a", "A");
  write_file(backing_ / "b", "B");
  Attempt past = begun(Op::kRename);
  past.before = {key(backing_ / "a"), key(backing_ / "b")};
  ASSERT_EQ(::renameat2(AT_FDCWD, (backing_ / "a").c_str(), AT_FDCWD, (backing_ / "b").c_str(),
                        RENAME_EXCHANGE),
            0);
  EXPECT_TRUE(ops::rename(resent(Op::kRename, past), kRoot, "a", kRoot, "b", RENAME_EXCHANGE));
  EXPECT_EQ(read_file(backing_ / "a"), "B");
  EXPECT_EQ(read_file(backing_ / "b"), "A");
}

TEST_F(ReplayTest, ARenameMadeBeforeTheCrashIsRecordedWhereItLeftTheEntry) {
  write_file(backing_ / "a", "A");
  auto node = ops::lookup(Request{*fs_, Caller{}, Op::kLookup}, kRoot, "a");
  ASSERT_TRUE(node);
  Attempt past = begun(Op::kRename);
  past.before = {key(backing_ / "a"), std::nullopt};
  fs::rename(backing_ / "a", backing_ / "b");
  EXPECT_TRUE(ops::rename(resent(Op::kRename, past), kRoot, "a", kRoot, "b", 0));
  EXPECT_EQ(fs_->nodes().location(node->id), std::make_pair(kRoot, std::string("b")))
      << "the node follows, as after a rename made here";
}

TEST_F(ReplayTest, APlainFileIsNotTakenForTheFifoAResentMknodMade) {
  Attempt past = begun(Op::kMknod);
  write_file(backing_ / "p", "");  // a plain file of the caller's, new: no stored FIFO
  auto made = ops::mknod(resent(Op::kMknod, past), kRoot, "p", S_IFIFO | 0644);
  EXPECT_EQ(made.code(), EEXIST);
}

TEST_F(ReplayTest, ARenameThatCannotBeToldIsRefusedAndAudited) {
  write_file(backing_ / "a", "A");
  Attempt past = begun(Op::kRename);
  past.before = {key(backing_ / "a"), std::nullopt};
  Fd held(::open((backing_ / "a").c_str(), O_RDONLY | O_CLOEXEC));  // its number stays its own
  fs::remove(backing_ / "a");
  write_file(backing_ / "b", "neither A nor free");
  uint64_t before = refusals();
  auto moved = ops::rename(resent(Op::kRename, past), kRoot, "a", kRoot, "b", 0);
  EXPECT_EQ(moved.code(), EIO);
  EXPECT_EQ(refusals(), before + 1) << "audited as undecided";
  EXPECT_EQ(read_file(backing_ / "b"), "neither A nor free");
}

TEST_F(ReplayTest, AFileTheCreateMadeIsOpenedNotRefusedNorEmptied) {
  Attempt past = begun(Op::kCreate);
  write_file(backing_ / "f", "made");  // made after the record began, by the caller (root here)
  auto made = ops::create(resent(Op::kCreate, past), kRoot, "f", 0644,
                          O_WRONLY | O_CREAT | O_EXCL | O_TRUNC);
  ASSERT_TRUE(made) << made.code();
  EXPECT_EQ(made->entry.attr.st_ino, key(backing_ / "f").ino);
  EXPECT_EQ(read_file(backing_ / "f"), "made");
}

TEST_F(ReplayTest, AFileThatWasThereBeforeTheCreateIsStillTaken) {
  write_file(backing_ / "f", "old");
  Attempt past = begun(Op::kCreate);
  past.begun_ns = now_ns() + 5'000'000'000;  // the file changed long before the create began
  auto made = ops::create(resent(Op::kCreate, past), kRoot, "f", 0644, O_WRONLY | O_CREAT | O_EXCL);
  EXPECT_EQ(made.code(), EEXIST);
}

TEST_F(ReplayTest, AnAppendIsMadeOnce) {
  write_file(backing_ / "log", "0\n");
  auto id = ops::lookup(Request{*fs_, Caller{}, Op::kLookup}, kRoot, "log");
  ASSERT_TRUE(id);
  auto file = ops::open(Request{*fs_, Caller{}, Op::kOpen}, id->id, O_WRONLY | O_APPEND);
  ASSERT_TRUE(file);
  Attempt past = begun(Op::kWrite);
  past.size_before = 2;
  EXPECT_EQ(ops::write(resent(Op::kWrite, past), **file, "1\n", 2, 0).value(), 2u) << "not yet";
  EXPECT_EQ(read_file(backing_ / "log"), "0\n1\n");
  past.size_before = 4;
  write_file(backing_ / "log", "0\n1\n2\n");  // made before the predecessor died
  EXPECT_EQ(ops::write(resent(Op::kWrite, past), **file, "2\n", 2, 0).value(), 2u);
  EXPECT_EQ(read_file(backing_ / "log"), "0\n1\n2\n") << "answered, not appended twice";
  write_file(backing_ / "log", "0\n1\nxx");  // neither: refused
  EXPECT_EQ(ops::write(resent(Op::kWrite, past), **file, "2\n", 2, 0).code(), EIO);
}

TEST_F(ReplayTest, AnAttributeCreateIsNotMadeTwice) {
  write_file(backing_ / "f", "x");
  auto id = ops::lookup(Request{*fs_, Caller{}, Op::kLookup}, kRoot, "f");
  ASSERT_TRUE(id);
  ASSERT_EQ(::setxattr((backing_ / "f").c_str(), "user.k", "v", 1, 0), 0);  // made, then died
  Attempt past = begun(Op::kSetxattr);
  EXPECT_TRUE(ops::setxattr(resent(Op::kSetxattr, past), id->id, "user.k", "v", 1, XATTR_CREATE));
  Attempt removal = begun(Op::kRemovexattr);
  removal.existed = true;
  ASSERT_EQ(::removexattr((backing_ / "f").c_str(), "user.k"), 0);  // made, then died
  EXPECT_TRUE(ops::removexattr(resent(Op::kRemovexattr, removal), id->id, "user.k"));
}

TEST_F(ReplayTest, TheRecordGoesWhenTheAnswerIsWrittenAndASuccessorReadsIt) {
  AttemptLog& log = *fs_->attempts();
  Attempt a = begun(Op::kUnlink);
  a.before[0] = InodeKey{1, 2};
  ASSERT_TRUE(log.begin(9, a));
  log.done(9, -ENOENT);
  auto copy = sys::dup(log.fd());
  ASSERT_TRUE(copy);
  auto next = AttemptLog::adopt(std::move(copy.value()), {1, 2});
  ASSERT_TRUE(next);
  auto past = next->claim(9, static_cast<uint32_t>(Op::kUnlink));
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->done);
  EXPECT_EQ(past->result, -ENOENT);
  EXPECT_EQ(past->before[0], (InodeKey{1, 2}));
  log.answered(9);
  auto copy2 = sys::dup(log.fd());
  ASSERT_TRUE(copy2);
  EXPECT_FALSE(AttemptLog::adopt(std::move(copy2.value()), {1, 2})
                   ->claim(9, static_cast<uint32_t>(Op::kUnlink)))
      << "answered";
}

}  // namespace
}  // namespace confinefs
