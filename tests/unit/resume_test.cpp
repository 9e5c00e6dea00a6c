// Resuming a predecessor's nodes (nodes/node_journal.h, ops/resume.cpp) over a real backing
// directory, without /dev/fuse: a first Filesystem keeps its journal, a second adopts it as the
// next daemon would after a crash, and requests on the old ids arrive at the second. A record is
// served again only when its place still holds the same inode and type; every mismatch the
// threat model names answers ESTALE.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "fusefs/nodes/node_journal.h"
#include "fusefs/ops/ops.h"
#include "fusefs/sys/syscalls.h"
#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;
constexpr uint64_t kRoot = NodeTable::kRootId;

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = tree_.path() / "backing";
    outside_ = tree_.path() / "outside";
    fs::create_directories(backing_ / "a" / "b");
    fs::create_directories(outside_);
    write_file(backing_ / "a" / "b" / "f", "data");
    first_ = make();
    auto journal = NodeJournal::create(64, first_->nodes().root()->key());
    ASSERT_TRUE(journal);
    auto copy = sys::dup(journal.value()->fd());
    ASSERT_TRUE(copy);
    journal_ = std::move(copy.value());
    keep(*first_, std::move(journal.value()));
  }

  static void keep(Filesystem& fs, std::unique_ptr<NodeJournal> journal) {
    auto predecessor = journal->predecessor();
    fs.nodes().observe(std::move(journal), std::move(predecessor));
  }

  std::unique_ptr<Filesystem> make() {
    auto r = Resolver::open_root(backing_.c_str());
    EXPECT_TRUE(r.ok());
    return std::make_unique<Filesystem>(std::move(r.value()), FilesystemConfig{},
                                        policy::Policy::defaults());
  }

  uint64_t lookup(Filesystem& fs, const char* name, uint64_t parent = kRoot) {
    auto e = ops::lookup(Request{fs, Caller{}, Op::kLookup}, parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.code();
    return e ? e->id : 0;
  }

  // The next daemon: a new Filesystem over the same BACKING, adopting the journal's memfd.
  void crash_and_resume() {
    auto copy = sys::dup(journal_.ref());
    ASSERT_TRUE(copy);
    first_.reset();
    second_ = make();
    auto journal = NodeJournal::adopt(std::move(copy.value()), second_->nodes().root()->key());
    ASSERT_TRUE(journal) << journal.code();
    keep(*second_, std::move(journal.value()));
  }

  Result<struct stat> getattr(uint64_t id) {
    return ops::getattr(Request{*second_, Caller{}, Op::kGetattr}, id);
  }

  TempTree tree_;
  fs::path backing_, outside_;
  Fd journal_;  // what the supervisor holds
  std::unique_ptr<Filesystem> first_, second_;
};

TEST_F(ResumeTest, OldIdsAreServedAgainForTheSameInodes) {
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  uint64_t f = lookup(*first_, "f", b);
  crash_and_resume();
  EXPECT_EQ(second_->nodes().recorded_count(), 3u);
  // The deepest first: its parents are resumed on the way, from the root down.
  auto st = getattr(f);
  ASSERT_TRUE(st) << st.code();
  struct stat host {};
  ASSERT_EQ(::stat((backing_ / "a" / "b" / "f").c_str(), &host), 0);
  EXPECT_EQ(st->st_ino, host.st_ino);
  EXPECT_EQ(second_->nodes().recorded_count(), 0u);
  EXPECT_EQ(lookup(*second_, "b", a), b) << "a lookup of a resumed inode keeps its id";
  auto file = ops::open(Request{*second_, Caller{}, Op::kOpen}, f, O_RDONLY);
  ASSERT_TRUE(file) << file.code();
  char buf[8] = {};
  ASSERT_EQ(::pread(file.value()->fd.get(), buf, sizeof buf, 0), 4);
  EXPECT_STREQ(buf, "data");
}

TEST_F(ResumeTest, NewIdsContinueAboveThePredecessors) {
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  ops::forget(Request{*first_, Caller{}, Op::kForget}, b, 1);  // the highest id, gone
  crash_and_resume();
  write_file(backing_ / "new", "n");
  EXPECT_GT(lookup(*second_, "new"), b) << "an id the kernel may still hold is never reused";
}

TEST_F(ResumeTest, ALookupTakesOverTheRecordOfItsInode) {
  uint64_t a = lookup(*first_, "a");
  crash_and_resume();
  EXPECT_EQ(lookup(*second_, "a"), a);
  EXPECT_EQ(second_->nodes().recorded_count(), 0u);
  EXPECT_TRUE(getattr(a));
}

TEST_F(ResumeTest, AnotherInodeAtThePlaceIsRefused) {
  uint64_t a = lookup(*first_, "a");
  uint64_t f = lookup(*first_, "f", lookup(*first_, "b", a));
  crash_and_resume();
  // Made while the old f still exists, so it cannot get f's inode number.
  write_file(backing_ / "a" / "b" / "f.new", "other");
  fs::rename(backing_ / "a" / "b" / "f.new", backing_ / "a" / "b" / "f");
  EXPECT_EQ(getattr(f).code(), ESTALE);
  EXPECT_EQ(getattr(f).code(), ESTALE) << "a record that failed once is gone for good";
  EXPECT_TRUE(getattr(a)) << "its parents were the same and stay served";
  EXPECT_GE(second_->counters().refusals.load(), 1u) << "audited as an identity mismatch";
}

TEST_F(ResumeTest, AnotherTypeAtThePlaceIsRefused) {
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  crash_and_resume();
  fs::remove_all(backing_ / "a" / "b");
  write_file(backing_ / "a" / "b", "now a file");
  EXPECT_EQ(getattr(b).code(), ESTALE);
}

TEST_F(ResumeTest, ASymlinkAtThePlaceIsRefused) {
  uint64_t a = lookup(*first_, "a");
  crash_and_resume();
  fs::rename(backing_ / "a", tree_.path() / "a-away");
  fs::create_directory_symlink(tree_.path() / "a-away", backing_ / "a");
  EXPECT_EQ(getattr(a).code(), ESTALE);
  EXPECT_GE(second_->counters().refusals.load(), 1u);
}

TEST_F(ResumeTest, AMoveOutOfBackingIsRefused) {
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  crash_and_resume();
  fs::rename(backing_ / "a", outside_ / "a");
  EXPECT_EQ(getattr(b).code(), ESTALE);
  EXPECT_EQ(getattr(a).code(), ESTALE);
}

TEST_F(ResumeTest, AnotherMountAtThePlaceIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  crash_and_resume();
  std::string target = (backing_ / "a" / "b").string();
  ASSERT_EQ(::mount("tmpfs", target.c_str(), "tmpfs", 0, nullptr), 0) << std::strerror(errno);
  auto st = getattr(b);
  ::umount2(target.c_str(), MNT_DETACH);
  EXPECT_EQ(st.code(), ESTALE);
}

TEST_F(ResumeTest, ForgetDropsRecordsAndResumedNodesWhole) {
  uint64_t a = lookup(*first_, "a");
  lookup(*first_, "a");  // the kernel's count is 2
  uint64_t b = lookup(*first_, "b", a);
  crash_and_resume();
  ops::forget(Request{*second_, Caller{}, Op::kForget}, b, 1);
  EXPECT_EQ(second_->nodes().recorded_count(), 1u) << "a forgotten record is gone";
  EXPECT_EQ(getattr(b).code(), ESTALE);
  ASSERT_TRUE(getattr(a));
  size_t served = second_->nodes().size();
  // The kernel sends a node's FORGET once, with its whole count, which this daemon cannot know.
  ops::forget(Request{*second_, Caller{}, Op::kForget}, a, 1);
  EXPECT_EQ(second_->nodes().size(), served - 1);
}

TEST_F(ResumeTest, AJournalOfAnotherRootIsRefused) {
  auto other = NodeJournal::create(8, InodeKey{1, 2});
  ASSERT_TRUE(other);
  auto copy = sys::dup(other.value()->fd());
  ASSERT_TRUE(copy);
  EXPECT_EQ(NodeJournal::adopt(std::move(copy.value()), first_->nodes().root()->key()).code(),
            ESTALE);
  auto junk = sys::memfd("junk");
  ASSERT_TRUE(junk);
  ASSERT_EQ(::ftruncate(junk->get(), 1 << 16), 0);
  EXPECT_EQ(NodeJournal::adopt(std::move(junk.value()), InodeKey{1, 2}).code(), EINVAL);
}

TEST_F(ResumeTest, LinkFloorsSurviveTheRestart) {
  // A link node served beneath a/b gave a and b floors; after the restart a move that would
  // break them is refused just as before it.
  uint64_t a = lookup(*first_, "a");
  uint64_t b = lookup(*first_, "b", a);
  ASSERT_TRUE(first_->nodes().serve_link(b, 1));
  ASSERT_EQ(first_->nodes().admit_move(b, kRoot).code(), EXDEV) << "precondition";
  fs::create_directories(backing_ / "c" / "d");
  uint64_t d = lookup(*first_, "d", lookup(*first_, "c"));
  crash_and_resume();
  EXPECT_EQ(second_->nodes().admit_move(b, kRoot).code(), EXDEV)
      << "b's floor 2 is kept for its record, before it is resumed";
  ASSERT_TRUE(getattr(b));
  EXPECT_EQ(second_->nodes().admit_move(b, kRoot).code(), EXDEV);
  EXPECT_TRUE(second_->nodes().admit_move(b, d)) << "deep enough";
}

TEST_F(ResumeTest, ARecordMovedBeforeItIsResumedPassesItsFloorOn) {
  // c, a record with floor 2, moved under e: e must keep depth 1 from then on, as it would for a
  // served node (add_parent_locked raises the new parent's floor).
  fs::create_directories(backing_ / "a" / "b" / "c" / "d");
  fs::create_directories(backing_ / "e");
  uint64_t b = lookup(*first_, "b", lookup(*first_, "a"));
  uint64_t c = lookup(*first_, "c", b);
  uint64_t d = lookup(*first_, "d", c);
  ASSERT_TRUE(first_->nodes().serve_link(d, 2));
  crash_and_resume();
  uint64_t e = lookup(*second_, "e");
  ASSERT_TRUE(second_->nodes().admit_move(c, e));
  EXPECT_EQ(second_->nodes().admit_move(e, 999999).code(), EXDEV)
      << "e now carries a floor: it may not go where no way up is known";
}

}  // namespace
}  // namespace confinefs
