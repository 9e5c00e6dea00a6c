// The lock order of fusefs/lock_order.h, checked where the locks are taken (debug builds).
#include "fusefs/lock_order.h"

#include <gtest/gtest.h>

#include <mutex>

namespace confinefs {
namespace {

TEST(LockOrder, LocksTakenInOrderAreFine) {
  OrderedMutex<LockLevel::kPassthrough> passthrough;
  OrderedMutex<LockLevel::kNodeTable> table;
  OrderedMutex<LockLevel::kAudit> audit;
  std::lock_guard a(passthrough);
  std::lock_guard b(table);
  std::lock_guard c(audit);
  SUCCEED();
}

TEST(LockOrder, ALockReleasedNoLongerCounts) {
  OrderedMutex<LockLevel::kNodeTable> table;
  OrderedMutex<LockLevel::kPassthrough> passthrough;
  { std::lock_guard a(table); }
  std::lock_guard b(passthrough);
  std::lock_guard c(table);
  SUCCEED();
}

#ifndef NDEBUG
TEST(LockOrderDeathTest, ALowerLevelUnderAHigherOneAborts) {
  OrderedMutex<LockLevel::kNodeTable> table;
  OrderedMutex<LockLevel::kPassthrough> passthrough;
  EXPECT_DEATH(
      {
        std::lock_guard a(table);
        std::lock_guard b(passthrough);
      },
      "lock order broken: passthrough taken while holding node table");
}

TEST(LockOrderDeathTest, TwoLocksOfOneLevelAbort) {
  // Two usage stripes taken by two threads in opposite orders would deadlock.
  OrderedMutex<LockLevel::kUsageFile> one;
  OrderedMutex<LockLevel::kUsageFile> two;
  EXPECT_DEATH(
      {
        std::lock_guard a(one);
        std::lock_guard b(two);
      },
      "lock order broken");
}
#endif

}  // namespace
}  // namespace confinefs
