// Multi-user mount: with allow_other,default_permissions, files and directories
// created through the mount belong to the calling process's uid/gid on the host, a setgid parent
// directory's group is inherited, chown to another uid/gid is EPERM (for root too), and setuid/
// setgid bits from chmod are never stored. Non-root callers are forked children that drop to a
// test uid with setgroups/setgid/setuid.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace {

namespace fs = std::filesystem;
using confinefs::testing::Mount;

constexpr uid_t kUser = 12345;
constexpr gid_t kUserGroup = 12345;
constexpr uid_t kOther = 12346;
constexpr gid_t kShared = 4242;  // a group the user is not in
constexpr gid_t kSupp = 23456;   // a supplementary group of the user

struct Who {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

// Runs fn in a child process with the given credentials; returns fn's result ("" = success).
std::string as(const Who& who, const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string err;
    if (::setgroups(who.groups.size(), who.groups.data()) != 0) {
      err = std::string("setgroups: ") + std::strerror(errno);
    } else if (::setgid(who.gid) != 0) {
      err = std::string("setgid: ") + std::strerror(errno);
    } else if (::setuid(who.uid) != 0) {
      err = std::string("setuid: ") + std::strerror(errno);
    } else {
      ::umask(022);
      err = fn();
    }
    if (!err.empty() && ::write(p[1], err.data(), err.size()) < 0) _exit(2);
    _exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, n);
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (child did not exit cleanly)";
  return out;
}

// For use inside `as`: "" when r == 0 (or r >= 0), else a description with errno.
std::string ok(long r, const std::string& what) {
  if (r >= 0) return {};
  return what + ": " + std::strerror(errno) + "; ";
}
std::string fails_with(long r, int want, const std::string& what) {
  if (r < 0 && errno == want) return {};
  if (r >= 0) return what + ": succeeded, expected " + std::strerror(want) + "; ";
  return what + ": " + std::strerror(errno) + ", expected " + std::strerror(want) + "; ";
}
std::string create(const fs::path& p, mode_t mode = 0644) {
  int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return "create " + p.string() + ": " + std::strerror(errno) + "; ";
  ::close(fd);
  return {};
}

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
};
Owner owner(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return Owner{static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  return Owner{st.st_uid, st.st_gid, st.st_mode & 07777};
}

class Ownership : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<Mount>(std::vector<std::string>{"-o", "allow_other"});
    ASSERT_TRUE(mount_->ok()) << "confinefs did not mount with -o allow_other";
    // Let other users reach the mountpoint and write in the root of the mount.
    ASSERT_EQ(::chmod(mount_->mnt().parent_path().c_str(), 0755), 0);
    ASSERT_EQ(::chmod(mount_->backing().c_str(), 0777), 0);
    ASSERT_EQ(::chmod(mount_->outside().c_str(), 0777), 0);
    mnt_ = mount_->mnt();
    host_ = mount_->backing();
  }
  void TearDown() override { mount_.reset(); }

  std::unique_ptr<Mount> mount_;
  fs::path mnt_, host_;
  const Who user_{kUser, kUserGroup, {kUserGroup, kSupp}};
  const Who other_{kOther, kOther, {kOther}};
  const Who nobody_{65534, 65534, {65534}};
};

TEST_F(Ownership, CreatedEntriesBelongToTheCaller) {
  std::string err = as(user_, [&] {
    std::string e;
    e += create(mnt_ / "file");
    e += ok(::mkdir((mnt_ / "dir").c_str(), 0755), "mkdir dir");
    e += create(mnt_ / "dir" / "nested");
    e += ok(::mkdir((mnt_ / "dir" / "sub").c_str(), 0700), "mkdir dir/sub");
    e += ok(::mknod((mnt_ / "node").c_str(), S_IFREG | 0600, 0), "mknod node");
    e += create(mnt_ / "tmp");
    e += ok(::rename((mnt_ / "tmp").c_str(), (mnt_ / "renamed").c_str()), "rename");
    return e;
  });
  ASSERT_EQ(err, "");
  for (const char* rel : {"file", "dir", "dir/nested", "dir/sub", "node", "renamed"}) {
    Owner host = owner(host_ / rel);
    EXPECT_EQ(host.uid, kUser) << rel << " on the host";
    EXPECT_EQ(host.gid, kUserGroup) << rel << " on the host";
    Owner seen = owner(mnt_ / rel);
    EXPECT_EQ(seen.uid, kUser) << rel << " through the mount";
    EXPECT_EQ(seen.gid, kUserGroup) << rel << " through the mount";
  }
  // nobody too, and root's own files stay root's.
  err = as(nobody_, [&] { return create(mnt_ / "by-nobody"); });
  ASSERT_EQ(err, "");
  EXPECT_EQ(owner(host_ / "by-nobody").uid, 65534u);
  EXPECT_EQ(owner(host_ / "by-nobody").gid, 65534u);
  ASSERT_EQ(create(mnt_ / "by-root"), "");
  EXPECT_EQ(owner(host_ / "by-root").uid, 0u);
  EXPECT_EQ(owner(host_ / "by-root").gid, 0u);
}

// Permission checks follow the host modes for each caller, as on a native multi-user filesystem.
TEST_F(Ownership, OtherUsersAreCheckedAgainstModes) {
  ASSERT_EQ(as(user_,
               [&] {
                 std::string e = ok(::mkdir((mnt_ / "home").c_str(), 0755), "mkdir home");
                 e += create(mnt_ / "home" / "private", 0600);
                 e += create(mnt_ / "home" / "public", 0644);
                 return e;
               }),
            "");
  std::string err = as(other_, [&] {
    std::string e;
    e += fails_with(::open((mnt_ / "home" / "x").c_str(), O_CREAT | O_WRONLY, 0644), EACCES,
                    "create in another user's 0755 dir");
    e += fails_with(::open((mnt_ / "home" / "private").c_str(), O_RDONLY), EACCES,
                    "read another user's 0600 file");
    e += fails_with(::open((mnt_ / "home" / "public").c_str(), O_WRONLY), EACCES,
                    "write another user's 0644 file");
    int fd = ::open((mnt_ / "home" / "public").c_str(), O_RDONLY);
    e += ok(fd, "read another user's 0644 file");
    if (fd >= 0) ::close(fd);
    e += fails_with(::unlink((mnt_ / "home" / "public").c_str()), EACCES,
                    "unlink in another user's dir");
    e += fails_with(::chmod((mnt_ / "home" / "public").c_str(), 0666), EPERM,
                    "chmod another user's file");
    return e;
  });
  EXPECT_EQ(err, "");
  EXPECT_TRUE(fs::exists(host_ / "home" / "public"));
  EXPECT_FALSE(fs::exists(host_ / "home" / "x"));
}

// Groups: a setgid directory passes its group on (and its setgid bit to new subdirectories, as the
// host kernel does natively), and supplementary groups of the caller grant access.
TEST_F(Ownership, SetgidDirectoryGroupIsInherited) {
  const fs::path shared = host_ / "shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0777), 0);
  ASSERT_EQ(::chown(shared.c_str(), 0, kShared), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 02777), 0);
  // The same layout natively, as a control for what the kernel does without confinefs.
  const fs::path native = mount_->outside() / "shared";
  ASSERT_EQ(::mkdir(native.c_str(), 0777), 0);
  ASSERT_EQ(::chown(native.c_str(), 0, kShared), 0);
  ASSERT_EQ(::chmod(native.c_str(), 02777), 0);
  for (const fs::path& base : {native, mnt_ / "shared"}) {
    std::string err = as(user_, [&] {
      std::string e = create(base / "file");
      e += ok(::mkdir((base / "sub").c_str(), 0755), "mkdir sub");
      e += create(base / "sub" / "deeper");
      return e;
    });
    ASSERT_EQ(err, "") << base;
  }
  for (const fs::path& base : {native, shared}) {
    SCOPED_TRACE(base.string());
    EXPECT_EQ(owner(base / "file").uid, kUser);
    EXPECT_EQ(owner(base / "file").gid, kShared) << "file in a setgid directory";
    EXPECT_EQ(owner(base / "sub").gid, kShared) << "subdirectory of a setgid directory";
    EXPECT_EQ(owner(base / "sub" / "deeper").gid, kShared) << "file in a subdirectory";
  }
  EXPECT_EQ(owner(native / "sub").mode, 02755u) << "control: the kernel propagates S_ISGID";
  EXPECT_EQ(owner(shared / "sub").mode, owner(native / "sub").mode)
      << "new subdirectory of a setgid directory";
}

TEST_F(Ownership, SupplementaryGroupsGrantAccess) {
  for (const fs::path& base : {mount_->outside() / "team", host_ / "team"}) {
    ASSERT_EQ(::mkdir(base.c_str(), 0770), 0);
    ASSERT_EQ(::chown(base.c_str(), 0, kSupp), 0);
    ASSERT_EQ(::chmod(base.c_str(), 0770), 0);
  }
  for (const fs::path& base : {mount_->outside() / "team", mnt_ / "team"}) {
    std::string err = as(user_, [&] {
      std::string e = create(base / "made-by-member");
      e += ok(::mkdir((base / "dir-by-member").c_str(), 0755), "mkdir in group dir");
      return e;
    });
    EXPECT_EQ(err, "") << "user " << kUser << " in supplementary group " << kSupp
                       << " creating in a root:" << kSupp << " 0770 directory at " << base;
  }
  EXPECT_EQ(owner(host_ / "team" / "made-by-member").uid, kUser);
  EXPECT_EQ(owner(host_ / "team" / "made-by-member").gid, kUserGroup);
  // A non-member is refused.
  std::string err = as(other_, [&] {
    return fails_with(::open((mnt_ / "team" / "intruder").c_str(), O_CREAT | O_WRONLY, 0644),
                      EACCES, "non-member creating in a 0770 group directory");
  });
  EXPECT_EQ(err, "");
}

TEST_F(Ownership, CreateLandingOnAFileTheKernelNeverSawIsCheckedLikeOpen) {
  // cache=full: the kernel keeps "no such name" for an hour, so the O_CREAT below goes out as
  // CREATE (the kernel checks only the directory) for a file that has appeared meanwhile.
  mount_.reset();
  mount_ = std::make_unique<Mount>(std::vector<std::string>{"-o", "allow_other,cache=full"});
  ASSERT_TRUE(mount_->ok());
  mnt_ = mount_->mnt();
  host_ = mount_->backing();
  ASSERT_EQ(::chmod(mnt_.parent_path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(host_.c_str(), 0777), 0);
  ASSERT_EQ(as(nobody_,
               [&] {
                 struct stat st {};
                 return fails_with(::stat((mnt_ / "private").c_str(), &st), ENOENT,
                                   "stat private") +
                        fails_with(::stat((mnt_ / "shared").c_str(), &st), ENOENT, "stat shared");
               }),
            "");
  // Another user's private file, and one everybody may write, appear outside the mount.
  confinefs::testing::write_file(host_ / "private", "PRIVATE");
  ASSERT_EQ(::chown((host_ / "private").c_str(), kOther, kOther), 0);
  ASSERT_EQ(::chmod((host_ / "private").c_str(), 0600), 0);
  confinefs::testing::write_file(host_ / "shared", "SHARED");
  ASSERT_EQ(::chmod((host_ / "shared").c_str(), 0666), 0);
  std::string err = as(nobody_, [&] {
    std::string e;
    auto p = (mnt_ / "private").string();
    e +=
        fails_with(::open(p.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644), EACCES, "O_CREAT|O_RDWR");
    e += fails_with(::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644), EACCES,
                    "O_CREAT|O_TRUNC");
    e += fails_with(::open(p.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0644), EACCES,
                    "O_CREAT|O_RDONLY");
    // What the caller may open still opens (the kernel looks the name up again and sends OPEN).
    int fd = ::open((mnt_ / "shared").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    e += ok(fd, "O_CREAT|O_RDWR of a file open to all");
    if (fd >= 0) {
      char buf[16] = {};
      if (::read(fd, buf, sizeof buf) != 6 || std::string(buf) != "SHARED") e += "shared: content";
      ::close(fd);
    }
    return e;
  });
  EXPECT_EQ(err, "");
  EXPECT_EQ(confinefs::testing::read_file(host_ / "private"), "PRIVATE");
  EXPECT_EQ(owner(host_ / "private").mode, 0600u);
}

TEST_F(Ownership, ChownToAnotherOwnerIsRefused) {
  ASSERT_EQ(create(mnt_ / "root-file"), "");
  ASSERT_EQ(as(user_, [&] { return create(mnt_ / "user-file"); }), "");
  // Root through the mount: giving a file away is EPERM and changes nothing on the host.
  errno = 0;
  EXPECT_EQ(::chown((mnt_ / "root-file").c_str(), kUser, -1), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::chown((mnt_ / "root-file").c_str(), -1, kShared), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::chown((mnt_ / "user-file").c_str(), 0, 0), -1) << "root taking a user's file";
  EXPECT_EQ(errno, EPERM);
  int fd = ::open((mnt_ / "root-file").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(::fchown(fd, kOther, kOther), -1);
  EXPECT_EQ(errno, EPERM);
  ::close(fd);
  EXPECT_EQ(owner(host_ / "root-file").uid, 0u);
  EXPECT_EQ(owner(host_ / "root-file").gid, 0u);
  EXPECT_EQ(owner(host_ / "user-file").uid, kUser);
  // Unchanged owner is fine.
  EXPECT_EQ(::chown((mnt_ / "root-file").c_str(), 0, 0), 0) << std::strerror(errno);
  EXPECT_EQ(::chown((mnt_ / "root-file").c_str(), -1, -1), 0) << std::strerror(errno);
  // A user giving its file away: EPERM (natively too), host unchanged.
  std::string err = as(user_, [&] {
    std::string e = fails_with(::chown((mnt_ / "user-file").c_str(), kOther, -1), EPERM,
                               "user chown to another uid");
    e += fails_with(::chown((mnt_ / "user-file").c_str(), -1, kShared), EPERM,
                    "user chgrp to a group it is not in");
    e += ok(::chown((mnt_ / "user-file").c_str(), kUser, kUserGroup), "user chown to itself");
    return e;
  });
  EXPECT_EQ(err, "");
  EXPECT_EQ(owner(host_ / "user-file").uid, kUser);
  EXPECT_EQ(owner(host_ / "user-file").gid, kUserGroup);
}

TEST_F(Ownership, ChmodNeverStoresSetuidOrSetgid) {
  ASSERT_EQ(create(mnt_ / "prog", 0755), "");
  ASSERT_EQ(::mkdir((mnt_ / "d").c_str(), 0755), 0);
  struct Case {
    fs::path path;
    mode_t mode;
  };
  for (const Case& c : {Case{mnt_ / "prog", 04755}, Case{mnt_ / "prog", 02755},
                        Case{mnt_ / "prog", 06777}, Case{mnt_ / "d", 02775}}) {
    SCOPED_TRACE(c.path.string() + " chmod 0" + std::to_string(c.mode));
    mode_t before = owner(host_ / c.path.filename()).mode;
    int r = ::chmod(c.path.c_str(), c.mode);
    mode_t host = owner(host_ / c.path.filename()).mode;
    EXPECT_EQ(host & (S_ISUID | S_ISGID), 0u) << "host mode 0" << std::oct << host;
    EXPECT_EQ(owner(c.path).mode & (S_ISUID | S_ISGID), 0u) << "mode seen through the mount";
    if (r == 0) {
      EXPECT_EQ(host, c.mode & 01777) << "the permission bits are applied";
    } else {
      EXPECT_EQ(host, before) << "a refused chmod changes nothing";
    }
  }
  // Same for a user on its own file, and for fchmod.
  ASSERT_EQ(as(user_, [&] { return create(mnt_ / "user-prog", 0755); }), "");
  std::string err = as(user_, [&] {
    int fd = ::open((mnt_ / "user-prog").c_str(), O_RDONLY);
    if (fd < 0) return std::string("open: ") + std::strerror(errno);
    int r1 = ::fchmod(fd, 04755);
    ::close(fd);
    int r2 = ::chmod((mnt_ / "user-prog").c_str(), 02755);
    (void)r1;
    (void)r2;
    return std::string();
  });
  EXPECT_EQ(err, "");
  EXPECT_EQ(owner(host_ / "user-prog").mode & (S_ISUID | S_ISGID), 0u);
  EXPECT_EQ(owner(host_ / "user-prog").uid, kUser);
}

}  // namespace

namespace {

// POSIX ACLs on BACKING (threat 33): access through the mount is never wider than on the host for
// the same caller. A 0644 file with user:nobody:--- and a 0777 directory with user:nobody:r-x
// refuse nobody on the host; they must through the mount too, while others keep their access.
TEST_F(Ownership, PosixAclsOnBackingAreHonoured) {
  ASSERT_EQ(as(user_,
               [&] {
                 std::string e = ok(::mkdir((mnt_ / "acl").c_str(), 0777), "mkdir acl");
                 e += ok(::chmod((mnt_ / "acl").c_str(), 0777), "chmod acl");
                 e += create(mnt_ / "acl" / "f", 0644);
                 return e;
               }),
            "");
  ASSERT_EQ(confinefs::testing::run_command(
                {"setfacl", "-m", "u:nobody:---", (host_ / "acl" / "f").string()}),
            0);
  ASSERT_EQ(
      confinefs::testing::run_command({"setfacl", "-m", "u:nobody:r-x", (host_ / "acl").string()}),
      0);
  std::string host = as(nobody_, [&] {
    return fails_with(::open((host_ / "acl" / "f").c_str(), O_RDONLY), EACCES, "host read") +
           fails_with(::open((host_ / "acl" / "n").c_str(), O_CREAT | O_WRONLY, 0644), EACCES,
                      "host create");
  });
  ASSERT_EQ(host, "") << "the host itself must refuse nobody";
  std::string through = as(nobody_, [&] {
    return fails_with(::open((mnt_ / "acl" / "f").c_str(), O_RDONLY), EACCES, "read") +
           fails_with(::open((mnt_ / "acl" / "n").c_str(), O_CREAT | O_WRONLY, 0644), EACCES,
                      "create") +
           fails_with(::mkdir((mnt_ / "acl" / "d").c_str(), 0755), EACCES, "mkdir");
  });
  EXPECT_EQ(through, "");
  EXPECT_FALSE(fs::exists(host_ / "acl" / "n"));
  // Others keep what the modes give them.
  EXPECT_EQ(as(other_,
               [&] {
                 int fd = ::open((mnt_ / "acl" / "f").c_str(), O_RDONLY);
                 std::string e = ok(fd, "other reads the 0644 file");
                 if (fd >= 0) ::close(fd);
                 return e + create(mnt_ / "acl" / "o");
               }),
            "");
}

}  // namespace

namespace {

// Sticky directories (threat 36): the kernel checks the right to delete against the inode it
// cached for the name; an outside process that puts another user's file at that name must not
// turn the removal of the caller's own file into the removal of the other user's.
TEST_F(Ownership, UnlinkInAStickyDirectoryRemovesOnlyWhatTheKernelChecked) {
  mount_ = std::make_unique<Mount>(std::vector<std::string>{"-o", "allow_other,cache=full"});
  ASSERT_TRUE(mount_->ok());
  ASSERT_EQ(::chmod(mount_->mnt().parent_path().c_str(), 0755), 0);
  mnt_ = mount_->mnt();
  host_ = mount_->backing();
  ASSERT_EQ(::chmod(host_.c_str(), 0777), 0);
  fs::create_directory(host_ / "tmp");
  ASSERT_EQ(::chmod((host_ / "tmp").c_str(), 01777), 0);
  for (const char* op : {"unlink", "rename"}) {
    ASSERT_EQ(as(user_,
                 [&] {
                   std::string e = create(mnt_ / "tmp" / "mine");
                   struct stat st {};
                   return e + ok(::stat((mnt_ / "tmp" / "mine").c_str(), &st), "stat mine");
                 }),
              "");
    // Outside, the other user's file takes the name the kernel has cached as the caller's.
    confinefs::testing::write_file(host_ / "tmp" / "theirs", "THEIRS");
    ASSERT_EQ(::chown((host_ / "tmp" / "theirs").c_str(), kOther, kOther), 0);
    fs::rename(host_ / "tmp" / "theirs", host_ / "tmp" / "mine");
    std::string err = as(user_, [&] {
      long rc = std::string(op) == "unlink"
                    ? ::unlink((mnt_ / "tmp" / "mine").c_str())
                    : ::rename((mnt_ / "tmp" / "mine").c_str(), (mnt_ / "tmp" / "moved").c_str());
      return fails_with(rc, EPERM, std::string(op) + " of another user's file in a sticky dir");
    });
    EXPECT_EQ(err, "");
    EXPECT_EQ(owner(host_ / "tmp" / "mine").uid, kOther) << op;
    fs::remove(host_ / "tmp" / "mine");
  }
}

}  // namespace

namespace {

// Links and FIFOs made through the mount belong to their maker like any created file (the
// stored file is made as the caller, and named as the caller).
TEST_F(Ownership, LinksAndFifosBelongToTheCallerWhoMadeThem) {
  ASSERT_EQ(as(user_,
               [&] {
                 return ok(::symlink("target", (mnt_ / "l").c_str()), "symlink") +
                        ok(::mkfifo((mnt_ / "p").c_str(), 0640), "mkfifo");
               }),
            "");
  EXPECT_EQ(owner(host_ / "l").uid, kUser);
  EXPECT_EQ(owner(host_ / "p").uid, kUser);
  struct stat st {};
  ASSERT_EQ(::lstat((mnt_ / "l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, kUser);
}

}  // namespace
