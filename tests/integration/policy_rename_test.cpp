// Through a real mount: renames cannot carry a file or directory across a rule boundary in a way
// that defeats a rule; the refusal carries the errno of the stricter rule.
#include <linux/fs.h>
#include <stdio.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

constexpr const char* kRules = R"(version: 1
rules:
  - {path: /secret, access: hidden}
  - {path: /vault, access: deny}
  - {path: /inputs, access: read-only}
  - {path: /proj/data, access: read-only}
  - {path: /proj/.env, access: hidden}
  - {path: /**/*.pem, access: deny}
)";

int rename_errno(const fs::path& a, const fs::path& b, unsigned flags = 0) {
  return errno_of([&] { return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), flags); });
}

class PolicyRenameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(p_.m().ok());
    for (const char* d : {"secret", "vault", "inputs", "proj/data", "work/sub", "other"}) {
      fs::create_directories(p_.backing(d));
    }
    write_file(p_.backing("proj/data/d.csv"), "d");
    write_file(p_.backing("proj/.env"), "TOKEN");
    write_file(p_.backing("work/sub/f"), "f");
    write_file(p_.backing("work/f"), "f");
  }
  PolicyMount p_{kRules};
};

TEST_F(PolicyRenameTest, MovingAProtectedSubtreeAwayIsRefused) {
  // /proj carries a read-only /proj/data and a hidden /proj/.env: as /moved they would be free.
  EXPECT_EQ(rename_errno(p_.mnt("proj"), p_.mnt("moved")), EACCES);
  EXPECT_TRUE(fs::exists(p_.backing("proj/data/d.csv")));
  EXPECT_EQ(rename_errno(p_.mnt("proj/data"), p_.mnt("work/data")), EROFS);
}

TEST_F(PolicyRenameTest, MovingIntoStricterPlacesIsRefused) {
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("inputs/f")), EROFS);
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("proj/data/f")), EROFS);
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("work/f.pem")), EACCES);
  EXPECT_EQ(rename_errno(p_.mnt("work/sub"), p_.mnt("proj/.env")), EACCES);
  EXPECT_TRUE(fs::exists(p_.backing("work/f")));
  EXPECT_EQ(read_file(p_.backing("proj/.env")), "TOKEN");
}

TEST_F(PolicyRenameTest, MovingADirectoryOntoANameThatRulesSplitIsRefused) {
  // /work/sub as /proj/sub: /proj/sub/x decides like /work/sub/x, so this one is fine...
  EXPECT_EQ(rename_errno(p_.mnt("work/sub"), p_.mnt("proj/sub")), 0);
  // ...but a directory named "data" under /proj would fall under the read-only rule.
  EXPECT_EQ(rename_errno(p_.mnt("proj/sub"), p_.mnt("other/sub")), 0);
  fs::create_directories(p_.backing("work/data2"));
  EXPECT_EQ(rename_errno(p_.mnt("work/data2"), p_.mnt("proj/data")), EROFS);
}

TEST_F(PolicyRenameTest, ExchangeChecksBothDirections) {
  write_file(p_.backing("inputs/i"), "i");
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("inputs/i"), RENAME_EXCHANGE), EROFS);
  write_file(p_.backing("work/g"), "g");
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("work/g"), RENAME_EXCHANGE), 0);
  EXPECT_EQ(read_file(p_.backing("work/f")), "g");
}

TEST_F(PolicyRenameTest, OrdinaryRenamesStillWork) {
  EXPECT_EQ(rename_errno(p_.mnt("work/f"), p_.mnt("other/f")), 0);
  EXPECT_EQ(rename_errno(p_.mnt("work/sub"), p_.mnt("other/sub")), 0);
  EXPECT_EQ(read_file(p_.mnt("other/sub/f")), "f");
  // The node's virtual path follows a rename through the mount.
  EXPECT_EQ(rename_errno(p_.mnt("other/f"), p_.mnt("other/g")), 0);
  EXPECT_EQ(read_file(p_.mnt("other/g")), "f");
}

}  // namespace
}  // namespace confinefs::testing

namespace confinefs::testing {
namespace {

// A rename is decided on what it moves. The client renames what it saw as a file across a rule
// boundary (/f -> /y/z/t, fine for a file); an outside process, or the client of a second mount,
// exchanges that name with a directory holding secret/token in a loop. Gated as a file and
// moved as a directory, secret/ would come out from under /*/secret and be readable.
TEST(PolicyRenameRace, ARenameIsDecidedOnWhatItMovesNotOnWhatWasThereBefore) {
  PolicyMount p("version: 1\nrules:\n  - {path: \"/*/secret\", access: hidden}\n");
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("x/secret"));
  write_file(p.backing("x/secret/token"), "TOKEN");
  write_file(p.backing("f"), "file");
  fs::create_directories(p.backing("y/z"));
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    while (!stop) {
      ::renameat2(AT_FDCWD, p.backing("x").c_str(), AT_FDCWD, p.backing("f").c_str(),
                  RENAME_EXCHANGE);
    }
  });
  int escapes = 0, moved = 0;
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(4)) {
    if (::rename(p.mnt("f").c_str(), p.mnt("y/z/t").c_str()) != 0) continue;
    ++moved;
    int fd = ::open(p.mnt("y/z/t/secret/token").c_str(), O_RDONLY);
    if (fd >= 0) {
      ++escapes;
      ::close(fd);
    }
    // Put back whatever moved, behind the mount, for the next round.
    std::error_code ec;
    fs::rename(p.backing("y/z/t"), p.backing(fs::exists(p.backing("f")) ? "x" : "f"), ec);
  }
  stop = true;
  swapper.join();
  EXPECT_EQ(escapes, 0) << "of " << moved << " renames";
  EXPECT_GT(moved, 100) << "the race never ran";
}

}  // namespace
}  // namespace confinefs::testing
