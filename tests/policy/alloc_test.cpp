// decide() runs on every lookup and open: it must never allocate.
// This file replaces global operator new for the whole test binary, counting only while armed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "policy_builder.h"

namespace {
std::atomic<bool> armed{false};
std::atomic<int> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (armed) allocations++;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace confinefs::policy {
namespace {

using namespace testing;

TEST(Allocation, DecideAndHelpersDoNotAllocate) {
  Policy p = make_policy({{"/inputs", RO},
                          {"/**/*.pem", DENY},
                          {"/home/*/.ssh", HIDDEN},
                          {"/a/**/b/**/c", RO},
                          {"/", RW}});
  armed = true;
  int sink = 0;
  for (const char* path : {"/", "/inputs/x/y", "/home/u/.ssh/id", "/a/x/b/y/c/z", "/q/k.pem"}) {
    sink += static_cast<int>(p.decide(path).access);
    sink += static_cast<int>(p.strictest_in_subtree(path).access);
    sink += p.rename_keeps_access(path, "/other/place");
  }
  armed = false;
  EXPECT_EQ(allocations.load(), 0);
  EXPECT_GT(sink, 0);
}

}  // namespace
}  // namespace confinefs::policy
