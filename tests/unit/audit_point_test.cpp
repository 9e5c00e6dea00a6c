// The request path's seams, over a real backing directory without /dev/fuse: entering a request
// (ops/enter.h) and its one audit point (guards/audit.h, ops/outcome.h). Each refusal kind the
// daemon has writes exactly one audit line, with the kind, path and reason it had before the
// audit point existed, whichever step of whichever operation refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "fusefs/ops/ops.h"
#include "policy/loader.h"
#include "tests/support/mount_fixture.h"

namespace confinefs {
namespace {

using testing::TempTree;
using testing::write_file;
namespace fs = std::filesystem;
constexpr uint64_t kRoot = NodeTable::kRootId;

// Only answer() makes an Outcome: a public operation cannot hand out an unaudited result.
static_assert(!std::is_constructible_v<ops::Outcome<int>, Result<int>>);
static_assert(!std::is_constructible_v<ops::Outcome<int>, Error>);
static_assert(!std::is_constructible_v<ops::Outcome<int>, int>);
static_assert(!std::is_constructible_v<ops::Outcome<void>, Error>);

class AuditPointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = tree_.path() / "backing";
    fs::create_directories(backing_);
    log_ = tree_.path() / "audit.jsonl";
  }

  // A filesystem over backing_ whose policy is yaml plus a file sink for the audit log.
  void start(const std::string& yaml = "version: 1\n", const std::string& audit_extra = "") {
    auto loaded = policy::load_policy_string(
        yaml + "audit:\n  sink: " + log_.string() + "\n" + audit_extra, "test.yaml");
    ASSERT_TRUE(loaded.ok());
    auto r = Resolver::open_root(backing_.c_str());
    ASSERT_TRUE(r.ok());
    fs_.emplace(std::move(r.value()), FilesystemConfig{}, loaded.policy);
  }

  Request req(Op op) { return Request{*fs_, Caller{::getuid(), ::getgid(), 1234, 022}, op}; }

  uint64_t lookup(const char* name, uint64_t parent = kRoot) {
    auto e = ops::lookup(req(Op::kLookup), parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.code();
    return e ? e->id : 0;
  }

  std::vector<std::string> lines() {
    std::vector<std::string> out;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  // The one line the refusal wrote: exactly one, holding every fragment.
  void expect_one_line(const std::vector<std::string>& fragments) {
    auto all = lines();
    ASSERT_EQ(all.size(), 1u) << "one refusal, one line; got " << all.size();
    for (const auto& f : fragments) EXPECT_NE(all[0].find(f), std::string::npos) << all[0];
  }

  TempTree tree_;
  fs::path backing_;
  fs::path log_;
  std::optional<Filesystem> fs_;
};

TEST_F(AuditPointTest, APlantedSymlinkIsAuditedOnceAtItsName) {
  fs::create_symlink("/etc/passwd", backing_ / "link");
  start();
  EXPECT_FALSE(ops::lookup(req(Op::kLookup), kRoot, "link"));
  expect_one_line(
      {R"("kind":"escape")", R"("op":"lookup")", R"("path":"/link")", R"("reason":"symlink")"});
  EXPECT_EQ(fs_->counters().refusals.load(), 1u);
}

TEST_F(AuditPointTest, AHostileNameIsAuditedOnceAtItsDirectory) {
  fs::create_directories(backing_ / "d");
  start();
  uint64_t d = lookup("d");
  EXPECT_EQ(ops::mkdir(req(Op::kMkdir), d, "..", 0755).code(), EINVAL);
  expect_one_line(
      {R"("kind":"escape")", R"("op":"mkdir")", R"("path":"/d")", R"("reason":"hostile-name")"});
}

TEST_F(AuditPointTest, APolicyDenialIsAuditedOnceWithItsRule) {
  fs::create_directories(backing_ / "keys");
  start("version: 1\nrules:\n  - {path: /keys, access: deny}\n");
  EXPECT_EQ(ops::lookup(req(Op::kLookup), kRoot, "keys").code(), EACCES);
  expect_one_line({R"("kind":"policy")", R"("op":"lookup")", R"("path":"/keys")",
                   R"("access":"deny")", R"("glob":"/keys")"});
  EXPECT_EQ(fs_->counters().denials.load(), 1u);
}

TEST_F(AuditPointTest, ADeniedNameThatDoesNotExistIsDeniedNotMissing) {
  start("version: 1\nrules:\n  - {path: /private, access: deny}\n");
  // The lookup decides after resolving (one chain walk), but a denial still wins over ENOENT:
  // whether a name exists under a denied path does not show.
  EXPECT_EQ(ops::lookup(req(Op::kLookup), kRoot, "private").code(), EACCES);
  expect_one_line({R"("kind":"policy")", R"("path":"/private")"});
}

TEST_F(AuditPointTest, ALimitIsAuditedOnceAtTheNameMade) {
  start();
  EXPECT_EQ(ops::mknod(req(Op::kMknod), kRoot, "dev0", S_IFCHR | 0600).code(), EPERM);
  expect_one_line(
      {R"("kind":"limit")", R"("op":"mknod")", R"("path":"/dev0")", R"("reason":"devices")"});
}

TEST_F(AuditPointTest, AQuotaMetInsideANestedStepIsAuditedOnce) {
  write_file(backing_ / "there", "x");
  start("version: 1\nlimits:\n  quota_inodes: 1\n");
  // mknod of a regular file runs the create steps: one decision, one line.
  EXPECT_EQ(ops::mknod(req(Op::kMknod), kRoot, "f", S_IFREG | 0600).code(), EDQUOT);
  expect_one_line({R"("kind":"limit")", R"("path":"/f")", R"("reason":"quota_inodes")"});
}

TEST_F(AuditPointTest, ARenameRefusedAtItsDestinationNamesTheDestination) {
  fs::create_directories(backing_ / "to");
  write_file(backing_ / "from", "x");
  fs::create_symlink("/etc/passwd", backing_ / "to" / "planted");
  start();
  uint64_t to = lookup("to");
  EXPECT_EQ(ops::rename(req(Op::kRename), kRoot, "from", to, "planted", 0).code(), EACCES);
  expect_one_line({R"("kind":"escape")", R"("op":"rename")", R"("path":"/to/planted")",
                   R"("reason":"symlink")"});
  EXPECT_TRUE(fs::is_symlink(backing_ / "to" / "planted")) << "never replaced";
}

TEST_F(AuditPointTest, AStaleChainIsAuditedOnceAndNotCountedAsADenial) {
  fs::create_directories(backing_ / "a");
  fs::create_directories(backing_ / "elsewhere");
  start("version: 1\nrules:\n  - {path: /secret, access: hidden}\n");
  uint64_t a = lookup("a");
  // An outside rename to another directory: the kernel's name for it is stale.
  fs::rename(backing_ / "a", backing_ / "elsewhere" / "a");
  EXPECT_EQ(ops::lookup(req(Op::kLookup), a, "x").code(), ESTALE);
  expect_one_line({R"("kind":"stale")", R"("path":"/a")"});
  EXPECT_EQ(fs_->counters().denials.load(), 0u);
}

TEST_F(AuditPointTest, AnAllowedLineIsWrittenOnlyForWhatHappened) {
  start("version: 1\nlinks: refuse\n", "  log_allowed_mutations: true\n");
  // The gate allows the new name, then the link limit refuses it: one line, the refusal.
  EXPECT_EQ(ops::symlink(req(Op::kSymlink), kRoot, "l", "target").code(), EPERM);
  expect_one_line({R"("event":"denied")", R"("reason":"links: refuse")"});
  std::filesystem::resize_file(log_, 0);
  EXPECT_TRUE(ops::mkdir(req(Op::kMkdir), kRoot, "made", 0755));
  expect_one_line({R"("event":"allowed")", R"("op":"mkdir")", R"("path":"/made")"});
}

TEST_F(AuditPointTest, PlainErrorsWriteNothing) {
  start();
  EXPECT_EQ(ops::lookup(req(Op::kLookup), kRoot, "absent").code(), ENOENT);
  EXPECT_EQ(ops::unlink(req(Op::kUnlink), kRoot, "absent").code(), ENOENT);
  EXPECT_TRUE(lines().empty());
}

TEST_F(AuditPointTest, EachEntryOfAListingIsAuditedOnItsOwn) {
  fs::create_symlink("/etc/passwd", backing_ / "l1");
  fs::create_symlink("/etc/shadow", backing_ / "l2");
  start();
  Request r = req(Op::kReaddirplus);  // one request, many lookups
  EXPECT_FALSE(ops::lookup_listed(r, kRoot, "l1"));
  EXPECT_FALSE(ops::lookup_listed(r, kRoot, "l2"));
  auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].find(R"("path":"/l1")"), std::string::npos) << all[0];
  EXPECT_NE(all[1].find(R"("path":"/l2")"), std::string::npos) << all[1];
}

TEST_F(AuditPointTest, EnteringAnUnknownIdIsStaleAndAFileIsNoDirectory) {
  write_file(backing_ / "f", "x");
  start();
  EXPECT_EQ(ops::getattr(req(Op::kGetattr), 987654).code(), ESTALE);
  uint64_t f = lookup("f");
  EXPECT_EQ(ops::mkdir(req(Op::kMkdir), f, "x", 0755).code(), ENOTDIR);
  EXPECT_TRUE(lines().empty());
}

TEST_F(AuditPointTest, OneRequestDecidesUnderOnePolicy) {
  fs::create_directories(backing_ / "d");
  start();
  Request r = req(Op::kMkdir);
  // A reload between two steps of this request does not reach it: it keeps its snapshot.
  auto reloaded = policy::load_policy_string("version: 1\nmode: read-only\n", "reload.yaml");
  ASSERT_TRUE(reloaded.ok());
  ASSERT_TRUE(fs_->set_policy(reloaded.policy));
  EXPECT_TRUE(ops::mkdir(r, kRoot, "made", 0755)) << "decided under the policy it arrived with";
  EXPECT_EQ(ops::mkdir(req(Op::kMkdir), kRoot, "later", 0755).code(), EROFS);
}

}  // namespace
}  // namespace confinefs
