// A backing store that folds case (threat 34): rules match the client's bytes, so over a store
// where /SECRETS and /secrets are one directory a rule on /secrets could be passed by the other
// spelling. confinefs probes BACKING at start and refuses rules there, at start and on reload.
// The store here is tests/support/casefold_fs.cpp, a case-insensitive FUSE passthrough.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/integration/policy_support.h"
#include "tests/support/mount_fixture.h"

namespace confinefs::testing {
namespace {

// A case-folding store at dir()/store over dir()/source, for the life of the object.
class FoldingStore {
 public:
  FoldingStore() {
    fs::create_directories(source());
    fs::create_directories(store());
    std::vector<std::string> argv = {casefold_fs_binary(),
                                     source().string(),
                                     store().string(),
                                     "-f",
                                     "-o",
                                     "allow_other,default_permissions"};
    pid_ = ::fork();
    if (pid_ == 0) exec_daemon(argv, daemon_environment());
    for (int i = 0; i < 300 && !is_mounted(store()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~FoldingStore() {
    run_command({"fusermount3", "-u", "-z", store().string()});
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  bool ok() const { return is_mounted(store()); }
  fs::path source() const { return tree_.path() / "source"; }
  fs::path store() const { return tree_.path() / "store"; }

 private:
  TempTree tree_;
  pid_t pid_ = -1;
};

TEST(NameFolding, RulesAreRefusedOverABackingStoreThatFoldsCase) {
  FoldingStore store;
  ASSERT_TRUE(store.ok());
  fs::create_directories(store.store() / "secrets");
  write_file(store.store() / "secrets" / "token", "TOKEN");
  ASSERT_EQ(read_file(store.store() / "SECRETS" / "token"), "TOKEN") << "the store folds case";
  TempTree files;
  write_file(files.path() / "p.yaml", "version: 1\nrules:\n  - {path: /secrets, access: hidden}\n");
  Mount m(store.store(), {"-o", "policy=" + (files.path() / "p.yaml").string()});
  EXPECT_FALSE(m.ok()) << "confinefs served rules over a case-folding store";
  EXPECT_EQ(m.unmount(), 2);
}

TEST(NameFolding, WithoutRulesItServesAndAReloadCannotAddRules) {
  FoldingStore store;
  ASSERT_TRUE(store.ok());
  fs::create_directories(store.store() / "secrets");
  write_file(store.store() / "secrets" / "token", "TOKEN");
  TempTree files;
  fs::path policy = files.path() / "p.yaml";
  write_file(policy, "version: 1\n");
  Mount m(store.store(), {"-o", "policy=" + policy.string(), "-o", "cache=strict"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(read_file(m.mnt() / "SECRETS" / "token"), "TOKEN");
  write_file(policy, "version: 1\nrules:\n  - {path: /secrets, access: hidden}\n");
  m.signal_daemon(SIGHUP);
  ASSERT_TRUE(eventually([&] { return status_field(m.mnt(), "reloads_refused") == "1"; }));
  // Refused and reported, the old policy in force: nothing pretends to hide /secrets.
  EXPECT_EQ(read_file(m.mnt() / "secrets" / "token"), "TOKEN");
  EXPECT_EQ(read_file(m.mnt() / "SECRETS" / "token"), "TOKEN");
}

TEST(NameFolding, AStoreThatKeepsNamesApartTakesRules) {
  TempTree files;
  write_file(files.path() / "p.yaml", "version: 1\nrules:\n  - {path: /secrets, access: hidden}\n");
  Mount m({"-o", "policy=" + (files.path() / "p.yaml").string()});
  ASSERT_TRUE(m.ok());
  fs::create_directories(m.backing() / "secrets");
  EXPECT_EQ(stat_errno(m.mnt() / "secrets"), ENOENT);
  EXPECT_EQ(stat_errno(m.mnt() / "SECRETS"), ENOENT);  // no such name here: a distinct spelling
}

}  // namespace
}  // namespace confinefs::testing
