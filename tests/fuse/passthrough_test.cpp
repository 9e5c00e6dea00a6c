// The per-inode rule of fuse/passthrough.h, with a registrar that counts: which open passes
// through, which goes through the daemon, which is refused, and when a backing id is released.
// The kernel's side of the same rule (an open it would refuse fails with EIO) is exercised on a
// real mount in tests/integration/passthrough_test.cpp.
#include "fusefs/fuse/passthrough.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fusefs/sys/syscalls.h"

namespace confinefs::fuse {
namespace {

struct Registry {
  int32_t next = 1;
  int opened = 0;
  std::vector<int32_t> closed;
};

class CountingRegistrar : public BackingRegistrar {
 public:
  explicit CountingRegistrar(Registry& r) : r_(r) {}
  Result<int32_t> add(FdRef) override {
    ++r_.opened;
    return r_.next++;
  }
  Result<void> remove(int32_t id) override {
    r_.closed.push_back(id);
    return {};
  }
  Result<void> probe() override { return {}; }

 private:
  Registry& r_;
};

class PassthroughRule : public ::testing::Test {
 protected:
  void SetUp() override {
    pt_.configure(PassthroughMode::kAuto, std::make_unique<CountingRegistrar>(reg_), nullptr);
    pt_.offered(wire::KernelOffer{2, 7, 45, true});
    ASSERT_TRUE(pt_.takes_init_reply(2));
    ASSERT_TRUE(pt_.wants(false));
    pt_.replied(true);
    ASSERT_EQ(pt_.state(), Passthrough::State::kOn);
  }
  Registry reg_;
  Passthrough pt_;
  FdRef fd_{-1};
};

TEST_F(PassthroughRule, OpensOfOneInodeShareOneBackingFile) {
  auto a = pt_.open(1, 100, fd_, true);
  auto b = pt_.open(2, 100, fd_, true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(a->backing_id, 0);
  EXPECT_EQ(b->backing_id, a->backing_id);
  EXPECT_EQ(reg_.opened, 1);
  auto other = pt_.open(3, 200, fd_, true);
  EXPECT_NE(other->backing_id, a->backing_id);
  pt_.release(1);
  EXPECT_TRUE(reg_.closed.empty());
  pt_.release(2);
  EXPECT_EQ(reg_.closed, std::vector<int32_t>{a->backing_id});
}

// The kernel would fail such an open with EIO: the daemon answers EBUSY itself.
TEST_F(PassthroughRule, AnOpenThatMayNotPassThroughIsRefusedWhileOneDoes) {
  auto shared = pt_.open(1, 100, fd_, true);
  ASSERT_GT(shared->backing_id, 0);
  auto counted = pt_.open(2, 100, fd_, false);  // byte limits came with a reload
  ASSERT_FALSE(counted.ok());
  EXPECT_EQ(counted.code(), EBUSY);
  pt_.release(2);  // never recorded: nothing changes
  pt_.release(1);
  auto now = pt_.open(3, 100, fd_, false);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->backing_id, 0);
}

TEST_F(PassthroughRule, NoneWhileAnOpenOfTheInodeIsCached) {
  auto cached = pt_.open(1, 100, fd_, false);
  EXPECT_EQ(cached->backing_id, 0);
  auto next = pt_.open(2, 100, fd_, true);
  EXPECT_EQ(next->backing_id, 0);
  EXPECT_EQ(reg_.opened, 0);
  pt_.release(1);
  pt_.release(2);
  EXPECT_GT(pt_.open(3, 100, fd_, true)->backing_id, 0);
}

TEST_F(PassthroughRule, AnUnknownHandleReleasesNothing) {
  pt_.release(99);
  EXPECT_TRUE(reg_.closed.empty());
}

// The kernel serves opens as soon as it has the INIT reply, while the registrar still probes:
// such an open is cached, and its inode must not pass through later while it is open.
// A successor daemon (resume=on) takes the counts over from the record; the kernel resends the
// OPEN and the RELEASE its predecessor had counted but not answered: neither is counted twice.
TEST_F(PassthroughRule, ARequestCountedBeforeACrashIsNotCountedAgain) {
  auto record = PassthroughRecord::create(8);
  ASSERT_TRUE(record);
  auto copy = sys::dup(record->fd());
  ASSERT_TRUE(copy);
  pt_.keep_in(std::move(record.value()));
  ASSERT_TRUE(pt_.open(1, 100, fd_, true, 41));  // answered
  ASSERT_TRUE(pt_.open(2, 100, fd_, true, 42));  // counted, then the daemon died
  ASSERT_TRUE(pt_.open(3, 100, fd_, true, 43));  // answered

  Registry reg;
  Passthrough next;
  next.configure(PassthroughMode::kAuto, std::make_unique<CountingRegistrar>(reg), nullptr);
  next.offered(wire::KernelOffer{2, 7, 45, true});
  ASSERT_TRUE(next.takes_init_reply(2));
  next.replied(true);
  auto adopted = PassthroughRecord::adopt(std::move(copy.value()));
  ASSERT_TRUE(adopted);
  next.keep_in(std::move(adopted.value()));
  auto again = next.open(1ull << 40, 100, fd_, true, 42);  // the resent OPEN
  ASSERT_TRUE(again);
  EXPECT_EQ(again->backing_id, 1) << "the predecessor's backing file";
  EXPECT_EQ(reg.opened, 0);
  next.release_predecessors(100, 50);  // the kernel's three opens close
  next.release_predecessors(100, 50);  // resent: counted already
  next.release_predecessors(100, 51);
  EXPECT_TRUE(reg.closed.empty()) << "one open is still there";
  next.release(1ull << 40, 52);
  EXPECT_EQ(reg.closed, std::vector<int32_t>{1}) << "released once, with the last open";
}

TEST(PassthroughState, AnOpenWhileTheProbeIsUnderWayKeepsItsInodeCached) {
  Registry reg;
  Passthrough pt;
  pt.configure(PassthroughMode::kAuto, std::make_unique<CountingRegistrar>(reg), nullptr);
  pt.offered(wire::KernelOffer{2, 7, 45, true});
  ASSERT_TRUE(pt.takes_init_reply(2));
  ASSERT_STREQ(pt.state_name(), "pending");
  auto early = pt.open(1, 100, FdRef(-1), true);
  EXPECT_EQ(early->backing_id, 0);
  pt.replied(true);
  ASSERT_EQ(pt.state(), Passthrough::State::kOn);
  EXPECT_EQ(pt.open(2, 100, FdRef(-1), true)->backing_id, 0);  // the early open is still open
  EXPECT_GT(pt.open(3, 200, FdRef(-1), true)->backing_id, 0);  // another inode passes through
  pt.release(1);
  pt.release(2);
  EXPECT_GT(pt.open(4, 100, FdRef(-1), true)->backing_id, 0);
}

TEST(PassthroughState, OffNeverAsksAndUnavailableServesThroughTheDaemon) {
  Registry reg;
  Passthrough off;
  off.configure(PassthroughMode::kOff, std::make_unique<CountingRegistrar>(reg), nullptr);
  off.offered(wire::KernelOffer{2, 7, 45, true});
  EXPECT_FALSE(off.wants(false));
  EXPECT_STREQ(off.state_name(), "off");
  Passthrough no_offer;
  no_offer.configure(PassthroughMode::kAuto, std::make_unique<CountingRegistrar>(reg), nullptr);
  no_offer.offered(wire::KernelOffer{2, 7, 45, false});
  EXPECT_FALSE(no_offer.wants(false));
  no_offer.replied(false);
  EXPECT_STREQ(no_offer.state_name(), "unavailable");
  auto io = no_offer.open(1, 100, FdRef(-1), true);
  EXPECT_EQ(io->backing_id, 0);
  EXPECT_EQ(reg.opened, 0);
  Passthrough writeback;
  writeback.configure(PassthroughMode::kAuto, std::make_unique<CountingRegistrar>(reg), nullptr);
  writeback.offered(wire::KernelOffer{2, 7, 45, true});
  EXPECT_FALSE(writeback.wants(true));
}

TEST(PassthroughState, RequireStopsServingWhenTheKernelDoesNotTakeIt) {
  Registry reg;
  bool stopped = false;
  Passthrough pt;
  pt.configure(PassthroughMode::kRequire, std::make_unique<CountingRegistrar>(reg),
               [&] { stopped = true; });
  pt.offered(wire::KernelOffer{2, 7, 45, false});
  pt.replied(pt.wants(false));
  EXPECT_TRUE(stopped);
}

// A registrar whose first round trip waits until the test lets it answer.
class SlowRegistrar : public BackingRegistrar {
 public:
  std::promise<void> entered;
  std::shared_future<void> go;
  std::atomic<int> added{0};

  Result<int32_t> add(FdRef) override {
    if (added.fetch_add(1) == 0) {
      entered.set_value();
      go.wait();
    }
    return static_cast<int32_t>(added.load());
  }
  Result<void> remove(int32_t) override { return {}; }
  Result<void> probe() override { return {}; }
};

// The registrar is another process: no mount-wide lock is held across its round trip
// (fusefs/lock_order.h). Opens of other inodes go on meanwhile; opens of the same inode wait for
// it, and share the backing file it gets (the kernel's rule).
TEST(PassthroughRegistration, ARoundTripToTheRegistrarHoldsUpOnlyItsOwnInode) {
  auto owned = std::make_unique<SlowRegistrar>();
  SlowRegistrar& slow = *owned;
  std::promise<void> release;
  slow.go = release.get_future().share();
  Passthrough pt;
  pt.configure(PassthroughMode::kAuto, std::move(owned), nullptr);
  pt.offered(wire::KernelOffer{2, 7, 45, true});
  ASSERT_TRUE(pt.takes_init_reply(2));
  pt.replied(true);  // probe() answers at once
  ASSERT_EQ(pt.state(), Passthrough::State::kOn);

  FdRef fd{-1};
  auto first = std::async(std::launch::async, [&] { return pt.open(1, 100, fd, true); });
  slow.entered.get_future().wait();  // the first open of inode 100 is in its round trip
  auto same = std::async(std::launch::async, [&] { return pt.open(2, 100, fd, true); });
  auto other = std::async(std::launch::async, [&] { return pt.open(3, 200, fd, false); });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "an open of another inode waited for the registrar";
  EXPECT_EQ(other.get()->backing_id, 0);
  EXPECT_EQ(same.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "an open of the same inode must wait for the first one's backing file";
  release.set_value();
  auto a = first.get();
  auto b = same.get();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(a->backing_id, 0);
  EXPECT_EQ(b->backing_id, a->backing_id);
  EXPECT_EQ(slow.added.load(), 1) << "registered once";
}

}  // namespace
}  // namespace confinefs::fuse
