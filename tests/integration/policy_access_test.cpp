// Through a real mount: every access word of a policy (hidden, deny, read-only, read-write),
// the mount-wide read-only mode, and the settings applied on creation and change (umask,
// allow_chown, xattr namespaces, max_name_length, hardlinks: read-only).
#include <sys/xattr.h>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

constexpr const char* kRules = R"(version: 1
tenant: access-test
rules:
  - {path: /secret, access: hidden}
  - {path: /keys, access: deny}
  - {path: /**/*.pem, access: deny}
  - {path: /inputs, access: read-only}
  - {path: /inputs/scratch, access: read-write}
)";

class PolicyAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(p_.m().ok());
    for (const char* d : {"secret", "keys", "inputs/scratch", "work"}) {
      fs::create_directories(p_.backing(d));
    }
    write_file(p_.backing("secret/s.txt"), "SECRET");
    write_file(p_.backing("keys/k.txt"), "KEY");
    write_file(p_.backing("work/server.pem"), "PEM");
    write_file(p_.backing("inputs/data.csv"), "a,b");
    write_file(p_.backing("inputs/scratch/out"), "o");
  }
  PolicyMount p_{kRules};
};

TEST_F(PolicyAccessTest, HiddenIsAbsentEverywhere) {
  EXPECT_EQ(stat_errno(p_.mnt("secret")), ENOENT);
  EXPECT_EQ(stat_errno(p_.mnt("secret/s.txt")), ENOENT);
  EXPECT_EQ(names_in(p_.mnt()).count("secret"), 0u);
  EXPECT_EQ(open_errno(p_.mnt("secret"), O_RDONLY), ENOENT);
  // A hidden name cannot be created (EACCES: the parent exists, the name may not).
  fs::remove_all(p_.backing("secret"));
  EXPECT_EQ(errno_of([&] { return ::mkdir(p_.mnt("secret").c_str(), 0755); }), EACCES);
  EXPECT_EQ(open_errno(p_.mnt("secret"), O_WRONLY | O_CREAT), EACCES);
  write_file(p_.mnt("work/x"), "x");
  EXPECT_EQ(errno_of([&] { return ::rename(p_.mnt("work/x").c_str(), p_.mnt("secret").c_str()); }),
            EACCES);
  EXPECT_FALSE(fs::exists(p_.backing("secret")));
}

TEST_F(PolicyAccessTest, DenyIsListedButEveryAccessIsEacces) {
  EXPECT_EQ(names_in(p_.mnt()).count("keys"), 1u);
  EXPECT_EQ(names_in(p_.mnt("work")).count("server.pem"), 1u);
  EXPECT_EQ(stat_errno(p_.mnt("keys")), EACCES);
  EXPECT_EQ(stat_errno(p_.mnt("work/server.pem")), EACCES);
  EXPECT_EQ(open_errno(p_.mnt("work/server.pem"), O_RDONLY), EACCES);
  EXPECT_EQ(open_errno(p_.mnt("keys/k.txt"), O_RDONLY), EACCES);
  EXPECT_EQ(open_errno(p_.mnt("work/new.pem"), O_WRONLY | O_CREAT), EACCES);
  EXPECT_EQ(errno_of([&] { return ::unlink(p_.mnt("work/server.pem").c_str()); }), EACCES);
  EXPECT_EQ(errno_of([&] {
              return ::rename(p_.mnt("work/server.pem").c_str(), p_.mnt("work/a.txt").c_str());
            }),
            EACCES);
  EXPECT_EQ(read_file(p_.backing("work/server.pem")), "PEM");
}

TEST_F(PolicyAccessTest, ReadOnlyReadsWorkAndEveryMutationIsErofs) {
  EXPECT_EQ(read_file(p_.mnt("inputs/data.csv")), "a,b");
  EXPECT_EQ(names_in(p_.mnt("inputs")), (std::set<std::string>{"data.csv", "scratch"}));
  auto in = [&](const char* rel) { return p_.mnt(rel); };
  EXPECT_EQ(open_errno(in("inputs/data.csv"), O_WRONLY), EROFS);
  EXPECT_EQ(open_errno(in("inputs/data.csv"), O_RDONLY | O_TRUNC), EROFS);
  EXPECT_EQ(open_errno(in("inputs/new"), O_WRONLY | O_CREAT), EROFS);
  EXPECT_EQ(errno_of([&] { return ::mkdir(in("inputs/d").c_str(), 0755); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::unlink(in("inputs/data.csv").c_str()); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::rmdir(in("inputs/scratch").c_str()); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::chmod(in("inputs/data.csv").c_str(), 0600); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::truncate(in("inputs/data.csv").c_str(), 0); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::utimes(in("inputs/data.csv").c_str(), nullptr); }), EROFS);
  EXPECT_EQ(
      errno_of([&] { return ::setxattr(in("inputs/data.csv").c_str(), "user.k", "v", 1, 0); }),
      EROFS);
  EXPECT_EQ(errno_of([&] {
              return ::rename(in("inputs/data.csv").c_str(), in("work/data.csv").c_str());
            }),
            EROFS);
  write_file(p_.mnt("work/w"), "w");
  EXPECT_EQ(errno_of([&] { return ::rename(in("work/w").c_str(), in("inputs/w").c_str()); }),
            EROFS);
  EXPECT_EQ(read_file(p_.backing("inputs/data.csv")), "a,b");
}

TEST_F(PolicyAccessTest, ReadWriteBeneathReadOnlyIsWritable) {
  write_file(p_.mnt("inputs/scratch/new"), "n");
  EXPECT_EQ(read_file(p_.backing("inputs/scratch/new")), "n");
  EXPECT_EQ(errno_of([&] { return ::unlink(p_.mnt("inputs/scratch/out").c_str()); }), 0);
  write_file(p_.mnt("work/file"), "f");
  EXPECT_EQ(read_file(p_.backing("work/file")), "f");
}

TEST(PolicyModeTest, ReadOnlyMountRefusesEveryMutation) {
  PolicyMount p("version: 1\nmode: read-only\n");
  ASSERT_TRUE(p.m().ok());
  write_file(p.backing("f"), "data");
  EXPECT_EQ(read_file(p.mnt("f")), "data");
  EXPECT_EQ(open_errno(p.mnt("f"), O_WRONLY), EROFS);
  EXPECT_EQ(open_errno(p.mnt("g"), O_WRONLY | O_CREAT), EROFS);
  EXPECT_EQ(errno_of([&] { return ::mkdir(p.mnt("d").c_str(), 0755); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::unlink(p.mnt("f").c_str()); }), EROFS);
  EXPECT_EQ(errno_of([&] { return ::chmod(p.mnt("f").c_str(), 0600); }), EROFS);
}

// Threat 44: under rules each request looks at every level of its path; the chain is bounded (512
// levels), so a tenant nesting thousands of levels gets ENAMETOOLONG below the bound instead of
// making each request there look at all of them (the previous build walked up to 4,096).
TEST(PolicyDepthTest, ChainsDeeperThanTheBoundAreRefused) {
  PolicyMount p("version: 1\nrules:\n  - {path: /secret, access: hidden}\n");
  ASSERT_TRUE(p.m().ok());
  // Made on the host, one level at a time from held fds: cheap, and a path this deep cannot be
  // named in one string.
  int host = ::open(p.backing().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(host, 0);
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(::mkdirat(host, "d", 0755), 0);
    int next = ::openat(host, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(host);
    host = next;
  }
  ::close(host);
  int dir = ::open(p.mnt().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  int level = 0, last_errno = 0;
  for (; level < 600; ++level) {
    int next = ::openat(dir, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (next < 0) {
      last_errno = errno;
      break;
    }
    ::close(dir);
    dir = next;
  }
  ::close(dir);
  EXPECT_GE(level, 500) << "refused well before the bound";
  EXPECT_LT(level, 600) << "never refused";
  EXPECT_EQ(last_errno, ENAMETOOLONG);
}

TEST(PolicySettingsTest, UmaskIsAppliedToNewFilesAndDirectories) {
  PolicyMount p("version: 1\ncreate: {umask: \"0077\"}\n");
  ASSERT_TRUE(p.m().ok());
  mode_t old = ::umask(0);
  int fd = ::open(p.mnt("f").c_str(), O_WRONLY | O_CREAT, 0666);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::mkdir(p.mnt("d").c_str(), 0777), 0);
  ::umask(old);
  EXPECT_EQ(fs::status(p.backing("f")).permissions(), fs::perms(0600));
  EXPECT_EQ(fs::status(p.backing("d")).permissions(), fs::perms(0700));
}

TEST(PolicySettingsTest, ChownToOtherIdsFollowsAllowChown) {
  {
    PolicyMount p("version: 1\n");
    ASSERT_TRUE(p.m().ok());
    write_file(p.mnt("f"), "x");
    EXPECT_EQ(errno_of([&] { return ::chown(p.mnt("f").c_str(), 4242, 4242); }), EPERM);
  }
  PolicyMount p("version: 1\ncreate: {allow_chown: true}\n");
  ASSERT_TRUE(p.m().ok());
  write_file(p.mnt("f"), "x");
  ASSERT_EQ(errno_of([&] { return ::chown(p.mnt("f").c_str(), 4242, 4243); }), 0);
  struct stat st {};
  ASSERT_EQ(::stat(p.backing("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4243u);
}

TEST(PolicySettingsTest, XattrNamespacesFollowThePolicy) {
  {
    PolicyMount none("version: 1\nxattrs: {namespaces: []}\n");
    ASSERT_TRUE(none.m().ok());
    write_file(none.mnt("f"), "x");
    // As a filesystem without that namespace answers.
    EXPECT_EQ(errno_of([&] { return ::setxattr(none.mnt("f").c_str(), "user.a", "1", 1, 0); }),
              EOPNOTSUPP);
  }
  PolicyMount user("version: 1\n");
  ASSERT_TRUE(user.m().ok());
  write_file(user.mnt("f"), "x");
  EXPECT_EQ(errno_of([&] { return ::setxattr(user.mnt("f").c_str(), "user.a", "1", 1, 0); }), 0);
  char buf[8];
  EXPECT_EQ(::getxattr(user.mnt("f").c_str(), "user.a", buf, sizeof buf), 1);
  EXPECT_EQ(errno_of([&] { return ::setxattr(user.mnt("f").c_str(), "trusted.a", "1", 1, 0); }),
            EOPNOTSUPP);
}

TEST(PolicySettingsTest, MaxNameLengthRefusesLongerNewNames) {
  PolicyMount p("version: 1\nlimits: {max_name_length: 8}\n");
  ASSERT_TRUE(p.m().ok());
  EXPECT_EQ(open_errno(p.mnt("12345678"), O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(open_errno(p.mnt("123456789"), O_WRONLY | O_CREAT), ENAMETOOLONG);
  EXPECT_EQ(errno_of([&] { return ::mkdir(p.mnt("dir-too-long").c_str(), 0755); }), ENAMETOOLONG);
  EXPECT_EQ(errno_of([&] {
              return ::rename(p.mnt("12345678").c_str(), p.mnt("renamed-too-long").c_str());
            }),
            ENAMETOOLONG);
  // Names made outside stay reachable: the limit is on what the tenant creates.
  write_file(p.backing("outside-made-long-name"), "o");
  EXPECT_EQ(read_file(p.mnt("outside-made-long-name")), "o");
}

TEST(PolicySettingsTest, HardlinksReadOnlyAllowsReadingOnly) {
  {
    PolicyMount refuse("version: 1\n");
    ASSERT_TRUE(refuse.m().ok());
    write_file(refuse.backing("a"), "linked");
    fs::create_hard_link(refuse.backing("a"), refuse.backing("b"));
    EXPECT_EQ(open_errno(refuse.mnt("a"), O_RDONLY), EACCES);
  }
  PolicyMount p("version: 1\nhardlinks: read-only\n");
  ASSERT_TRUE(p.m().ok());
  write_file(p.backing("a"), "linked");
  fs::create_hard_link(p.backing("a"), p.backing("b"));
  EXPECT_EQ(read_file(p.mnt("a")), "linked");
  EXPECT_EQ(open_errno(p.mnt("a"), O_WRONLY), EACCES);
  EXPECT_EQ(errno_of([&] { return ::truncate(p.mnt("b").c_str(), 0); }), EACCES);
  EXPECT_EQ(errno_of([&] { return ::chmod(p.mnt("b").c_str(), 0600); }), EACCES);
  EXPECT_EQ(read_file(p.backing("a")), "linked");
}

}  // namespace
}  // namespace confinefs::testing
