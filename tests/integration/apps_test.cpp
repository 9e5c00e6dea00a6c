// Real programs on the mount: git, tar round trip, cp -a, rsync -a, sqlite3 and
// an editor's write-to-temp-and-rename. Trees are compared entry by entry: type, mode, owner, size,
// bytes, mtime (nanoseconds) and, where the program carries them, user.* xattrs.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/mount_fixture.h"

namespace {

namespace fs = std::filesystem;
using confinefs::testing::Mount;
using confinefs::testing::pattern;
using confinefs::testing::read_file;
using confinefs::testing::write_file;

struct Ran {
  int status = -1;
  std::string out;
};

// Runs a shell script, capturing stdout and stderr together.
Ran sh(const std::string& script) {
  Ran r;
  std::string cmd = "( " + script + " ) 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

bool have(const std::string& program) {
  return sh("command -v " + program + " >/dev/null").status == 0;
}

#define REQUIRE_PROGRAM(p) \
  ASSERT_TRUE(have(p)) << p << " is not installed (scripts/setup test installs it)"

void set_mtime(const fs::path& p, time_t sec, long nsec) {
  timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

// A source tree with the shapes programs trip over: empty, page-edge and large files, a sparse
// file, read-only files and directories, odd names, a wide directory, user xattrs, set mtimes.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "a" / "b" / "c");
  fs::create_directories(root / "with space" / "ünïcödé");
  fs::create_directories(root / "wide");
  fs::create_directories(root / "ro-dir");
  write_file(root / "empty", "");
  write_file(root / "one", "1");
  write_file(root / "a" / "page-1", pattern(4095, 1));
  write_file(root / "a" / "page", pattern(4096, 2));
  write_file(root / "a" / "b" / "page+1", pattern(4097, 3));
  write_file(root / "a" / "b" / "c" / "big", pattern(3 * 1024 * 1024 + 3, 4));
  write_file(root / "with space" / "file name with spaces", "spaces\n");
  write_file(root / "with space" / "ünïcödé" / "naïve.txt", "unicode\n");
  write_file(root / ".hidden", "dot file\n");
  write_file(root / "ro-dir" / "inside", "in a read-only directory\n");
  write_file(root / "exec.sh", "#!/bin/sh\necho hi\n");
  write_file(root / "readonly", "read only\n");
  {
    int fd = ::open((root / "sparse").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "end", 3, 5 << 20), 3);
    ::close(fd);
  }
  for (int i = 0; i < 200; ++i) write_file(root / "wide" / ("f" + std::to_string(i)), "w");
  ::chmod((root / "exec.sh").c_str(), 0755);
  ::chmod((root / "readonly").c_str(), 0444);
  ::chmod((root / "a" / "page").c_str(), 0600);
  ::chmod((root / "a" / "b" / "c").c_str(), 0700);
  // Relative links as archives and checkouts carry them: down, up, to a directory, dangling.
  fs::create_symlink("a/b/page+1", root / "link-down");
  fs::create_symlink("../../one", root / "a" / "b" / "link-up");
  fs::create_directory_symlink("a/b", root / "dir-link");
  fs::create_symlink("nowhere", root / "dangling");
  ASSERT_EQ(::setxattr((root / "one").c_str(), "user.comment", "xattr value", 11, 0), 0);
  ASSERT_EQ(::setxattr((root / "a").c_str(), "user.dir", "d", 1, 0), 0);
  // mtimes, deepest first so that setting a child does not move its parent afterwards.
  std::vector<fs::path> all;
  for (auto& e : fs::recursive_directory_iterator(root)) all.push_back(e.path());
  std::sort(all.begin(), all.end(), [](const fs::path& x, const fs::path& y) {
    return std::distance(x.begin(), x.end()) > std::distance(y.begin(), y.end());
  });
  time_t t = 1500000000;
  for (auto& p : all) set_mtime(p, t += 3600, 0);
  ::chmod((root / "ro-dir").c_str(), 0555);
  set_mtime(root / "ro-dir", 1400000000, 0);
}

struct CompareOptions {
  bool xattrs = true;
  bool dir_mtimes = true;
  // b is BACKING seen from the host: a link made through the mount is a regular file there that
  // holds the target, with the sticky bit (fusefs/objects/marker.h).
  bool b_stores_links = false;
};

std::string link_target(const fs::path& p) {
  std::error_code ec;
  fs::path t = fs::read_symlink(p, ec);
  return ec ? "<error " + ec.message() + ">" : t.string();
}

std::map<std::string, std::string> user_xattrs(const fs::path& p) {
  std::map<std::string, std::string> out;
  char names[4096];
  ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < n;) {
    std::string name(names + i);
    i += name.size() + 1;
    // user.confinefs.* on BACKING: the daemon's own markers (fusefs/objects/marker.h).
    if (name.rfind("user.", 0) != 0 || name.rfind("user.confinefs.", 0) == 0) continue;
    char value[4096];
    ssize_t v = ::lgetxattr(p.c_str(), name.c_str(), value, sizeof value);
    out[name] = v >= 0 ? std::string(value, v) : "<error " + std::to_string(errno) + ">";
  }
  return out;
}

// Every difference between two trees (empty when identical), first ones only.
std::vector<std::string> compare_trees(const fs::path& a, const fs::path& b,
                                       CompareOptions opt = {}) {
  std::vector<std::string> diffs;
  auto list = [](const fs::path& root) {
    std::set<std::string> names;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      names.insert(e.path().lexically_relative(root).string());  // never resolves links
    }
    return names;
  };
  std::set<std::string> na = list(a), nb = list(b);
  for (auto& n : na) {
    if (!nb.count(n)) diffs.push_back("missing in " + b.string() + ": " + n);
  }
  for (auto& n : nb) {
    if (!na.count(n)) diffs.push_back("extra in " + b.string() + ": " + n);
  }
  for (auto& n : na) {
    if (!nb.count(n) || diffs.size() > 20) continue;
    fs::path pa = a / n, pb = b / n;
    struct stat sa {
    }, sb{};
    if (::lstat(pa.c_str(), &sa) != 0 || ::lstat(pb.c_str(), &sb) != 0) {
      diffs.push_back("cannot stat " + n);
      continue;
    }
    auto differ = [&](const std::string& what, auto x, auto y) {
      if (x == y) return;
      std::ostringstream o;
      o << n << ": " << what << " " << x << " vs " << y;
      diffs.push_back(o.str());
    };
    if (S_ISLNK(sa.st_mode) && opt.b_stores_links) {
      differ("stored link type", static_cast<mode_t>(S_IFREG), sb.st_mode & S_IFMT);
      differ("stored link bit", static_cast<mode_t>(S_ISVTX), sb.st_mode & S_ISVTX);
      if (S_ISREG(sb.st_mode) && read_file(pb) != link_target(pa)) {
        diffs.push_back(n + ": stored target differs");
      }
      continue;
    }
    differ("type", sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
    if (S_ISLNK(sa.st_mode) && S_ISLNK(sb.st_mode)) {
      differ("target", link_target(pa), link_target(pb));
      differ("size", sa.st_size, sb.st_size);
    } else {
      differ("mode", sa.st_mode & 07777, sb.st_mode & 07777);
    }
    differ("uid", sa.st_uid, sb.st_uid);
    differ("gid", sa.st_gid, sb.st_gid);
    if (S_ISREG(sa.st_mode) || opt.dir_mtimes) {
      differ("mtime.sec", sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
      differ("mtime.nsec", sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec);
    }
    if (opt.xattrs && user_xattrs(pa) != user_xattrs(pb)) diffs.push_back(n + ": user xattrs");
    if (S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode)) {
      differ("size", sa.st_size, sb.st_size);
      if (read_file(pa) != read_file(pb)) diffs.push_back(n + ": content differs");
    }
  }
  return diffs;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += "  " + x + "\n";
  return s;
}

class Apps : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = std::make_unique<Mount>();
    ASSERT_TRUE(mount_->ok()) << "confinefs did not mount";
    mnt_ = mount_->mnt();
    out_ = mount_->outside();
  }
  void TearDown() override { mount_.reset(); }

  std::unique_ptr<Mount> mount_;
  fs::path mnt_, out_;
};

TEST_F(Apps, Git) {
  REQUIRE_PROGRAM("git");
  const fs::path repo = mnt_ / "repo";
  const std::string git = "cd " + q(repo) + " && HOME=" + q(out_) +
                          " GIT_CONFIG_NOSYSTEM=1 git -c user.name=Tester"
                          " -c user.email=tester@example.com -c init.defaultBranch=main ";
  fs::create_directory(repo);
  Ran r = sh(git + "init -q");
  ASSERT_EQ(r.status, 0) << r.out;
  write_file(repo / "README", "hello\n");
  fs::create_directories(repo / "src" / "deep");
  for (int i = 0; i < 50; ++i) {
    write_file(repo / "src" / ("f" + std::to_string(i) + ".txt"), pattern(100 + i * 37, i));
  }
  write_file(repo / "src" / "deep" / "big.bin", pattern(2 << 20, 99));
  ::chmod((repo / "src" / "f1.txt").c_str(), 0755);
  fs::create_symlink("../f1.txt", repo / "src" / "deep" / "up-link");
  fs::create_directory_symlink("src/deep", repo / "deep-link");
  r = sh(git + "add -A && " + git + "commit -q -m first");
  ASSERT_EQ(r.status, 0) << r.out;
  r = sh(git + "status --porcelain");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "") << "a clean tree after commit";
  write_file(repo / "README", "hello again\n");
  fs::remove(repo / "src" / "f2.txt");
  write_file(repo / "new", "new file\n");
  r = sh(git + "status --porcelain");
  EXPECT_EQ(r.out, " M README\n D src/f2.txt\n?? new\n");
  r = sh(git + "add -A && " + git + "commit -q -m second && " + git + "log --format=%s");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "second\nfirst\n");
  r = sh(git + "ls-files -s src/f1.txt");
  EXPECT_EQ(r.out.substr(0, 6), "100755") << r.out;
  r = sh(git + "ls-files -s src/deep/up-link deep-link");
  EXPECT_EQ(r.out.substr(0, 6), "120000") << "committed as symlinks: " << r.out;
  // Branch, checkout, gc (repacks with temp files and renames), fsck.
  r = sh(git + "checkout -q -b other HEAD~1 && cat README && " + git + "checkout -q main && " +
         git + "gc -q && " + git + "fsck --strict && " + git + "status --porcelain");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(read_file(repo / "README"), "hello again\n");
  // The repository as the host sees it is a valid one too, with the same history.
  r = sh("cd " + q(mount_->backing() / "repo") + " && HOME=" + q(out_) +
         " GIT_CONFIG_NOSYSTEM=1 git -c safe.directory='*' fsck --strict && git -c "
         "safe.directory='*' log --format=%s");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "second\nfirst\n");
  // Clone out of and into the mount.
  r = sh("HOME=" + q(out_) + " GIT_CONFIG_NOSYSTEM=1 git clone -q " + q(repo) + " " +
         q(mnt_ / "clone") + " && cd " + q(mnt_ / "clone") + " && git log --format=%s");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "second\nfirst\n");
  // Checked out as symlinks that lead where they did, and git sees a clean tree.
  EXPECT_EQ(link_target(mnt_ / "clone" / "src" / "deep" / "up-link"), "../f1.txt");
  EXPECT_EQ(read_file(mnt_ / "clone" / "deep-link" / "up-link"),
            read_file(repo / "src" / "f1.txt"));
  r = sh("cd " + q(mnt_ / "clone") + " && git status --porcelain");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "") << "a clean clone";
}

TEST_F(Apps, TarRoundTrip) {
  REQUIRE_PROGRAM("tar");
  const fs::path src = out_ / "src";
  make_tree(src);
  const std::string xattr_opts = " --format=posix --xattrs --xattrs-include='user.*' ";
  // tar x onto the mount.
  Ran r = sh("tar -C " + q(src) + xattr_opts + "-cf " + q(out_ / "in.tar") + " .");
  ASSERT_EQ(r.status, 0) << r.out;
  fs::create_directory(mnt_ / "x");
  r = sh("tar -C " + q(mnt_ / "x") + xattr_opts + "-xpf " + q(out_ / "in.tar"));
  ASSERT_EQ(r.status, 0) << r.out;
  auto d = compare_trees(src, mnt_ / "x");
  EXPECT_TRUE(d.empty()) << "after tar x on the mount:\n" << joined(d);
  d = compare_trees(src, mount_->backing() / "x", {.b_stores_links = true});
  EXPECT_TRUE(d.empty()) << "backing directory after tar x:\n" << joined(d);
  // No host tool finds a link to follow in BACKING.
  r = sh("find " + q(mount_->backing()) + " -type l -o -type p -o -type s | wc -l");
  EXPECT_EQ(r.out, "0\n");
  // tar c from the mount, the archive itself written on the mount, extracted natively.
  r = sh("tar -C " + q(mnt_ / "x") + xattr_opts + "-cf " + q(mnt_ / "out.tar") + " .");
  ASSERT_EQ(r.status, 0) << r.out;
  fs::create_directory(out_ / "y");
  r = sh("tar -C " + q(out_ / "y") + xattr_opts + "-xpf " + q(mnt_ / "out.tar"));
  ASSERT_EQ(r.status, 0) << r.out;
  d = compare_trees(src, out_ / "y");
  EXPECT_TRUE(d.empty()) << "after tar c on the mount and tar x natively:\n" << joined(d);
  // tar's own verdict: --compare (-d) of the archive against the extracted tree on the mount.
  r = sh("tar -C " + q(mnt_ / "x") + " -df " + q(out_ / "in.tar"));
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(Apps, CpArchiveInAndOut) {
  REQUIRE_PROGRAM("cp");
  const fs::path src = out_ / "src";
  make_tree(src);
  Ran r = sh("cp -a " + q(src) + " " + q(mnt_ / "copy"));
  // cp -a copies the (absent) ACL with fsetxattr(system.posix_acl_access); a filesystem without
  // ACLs answers EOPNOTSUPP, which cp ignores; any other error makes cp -a exit 1.
  EXPECT_EQ(r.status, 0) << "cp -a into the mount failed; first lines:\n"
                         << r.out.substr(0, r.out.find('\n', r.out.find('\n', 0) + 1) + 1);
  auto d = compare_trees(src, mnt_ / "copy");
  EXPECT_TRUE(d.empty()) << "cp -a into the mount:\n" << joined(d);
  r = sh("cp -a " + q(mnt_ / "copy") + " " + q(out_ / "back"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  d = compare_trees(src, out_ / "back");
  EXPECT_TRUE(d.empty()) << "cp -a out of the mount:\n" << joined(d);
  // And within the mount (copy_file_range / reflink attempts included).
  r = sh("cp -a " + q(mnt_ / "copy") + " " + q(mnt_ / "copy2"));
  ASSERT_EQ(r.status, 0) << r.out;
  d = compare_trees(src, mnt_ / "copy2");
  EXPECT_TRUE(d.empty()) << "cp -a within the mount:\n" << joined(d);
}

TEST_F(Apps, RsyncRoundTrip) {
  REQUIRE_PROGRAM("rsync");
  const fs::path src = out_ / "src";
  make_tree(src);
  CompareOptions no_xattrs{.xattrs = false};
  Ran r = sh("rsync -a " + q(src) + "/ " + q(mnt_ / "rs") + "/");
  ASSERT_EQ(r.status, 0) << r.out;
  auto d = compare_trees(src, mnt_ / "rs", no_xattrs);
  EXPECT_TRUE(d.empty()) << "rsync -a into the mount:\n" << joined(d);
  // An update: rsync writes a temp file next to the target and renames it over.
  ::chmod((src / "ro-dir").c_str(), 0755);
  write_file(src / "ro-dir" / "inside", "changed, and longer than before\n");
  write_file(src / "a" / "page", pattern(5000, 42));
  fs::remove(src / "one");
  write_file(src / "added", "added\n");
  set_mtime(src / "a" / "page", 1600000000, 0);
  ::chmod((src / "ro-dir").c_str(), 0555);
  r = sh("rsync -a --delete " + q(src) + "/ " + q(mnt_ / "rs") + "/");
  ASSERT_EQ(r.status, 0) << r.out;
  d = compare_trees(src, mnt_ / "rs", no_xattrs);
  EXPECT_TRUE(d.empty()) << "second rsync -a --delete into the mount:\n" << joined(d);
  r = sh("rsync -a " + q(mnt_ / "rs") + "/ " + q(out_ / "back") + "/");
  ASSERT_EQ(r.status, 0) << r.out;
  d = compare_trees(src, out_ / "back", no_xattrs);
  EXPECT_TRUE(d.empty()) << "rsync -a out of the mount:\n" << joined(d);
  // rsync's own verdict: a checksum dry run finds nothing to transfer.
  r = sh("rsync -a -c -n -i " + q(src) + "/ " + q(mnt_ / "rs") + "/");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "") << "rsync -c still sees differences";
}

void sqlite_round(const fs::path& db, const std::string& journal_mode) {
  std::string script = "PRAGMA journal_mode=" + journal_mode + ";\n" +
                       "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB);\n"
                       "CREATE INDEX tv ON t(v);\nBEGIN;\n";
  for (int i = 0; i < 1000; ++i) {
    script += "INSERT INTO t(v, b) VALUES('row " + std::to_string(i) + "', randomblob(" +
              std::to_string(100 + i % 900) + "));\n";
  }
  script += "COMMIT;\nSELECT count(*) FROM t;\nPRAGMA integrity_check;\n";
  write_file(db.parent_path() / (db.filename().string() + ".sql"), script);
  Ran r = sh("sqlite3 " + q(db) + " < " + q(db.parent_path() / (db.filename().string() + ".sql")));
  ASSERT_EQ(r.status, 0) << r.out;
  std::string mode = journal_mode == "wal" ? "wal" : "delete";
  EXPECT_EQ(r.out, mode + "\n1000\nok\n");
  // A second process: update in a transaction, rollback another, vacuum, check.
  r = sh("sqlite3 " + q(db) +
         " \"BEGIN; UPDATE t SET v = v || '!' WHERE id % 2 = 0; COMMIT;"
         " BEGIN; DELETE FROM t; ROLLBACK; DELETE FROM t WHERE id > 900; VACUUM;"
         " SELECT count(*), sum(v LIKE '%!') FROM t; PRAGMA integrity_check;\"");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "900|450\nok\n");
}

TEST_F(Apps, Sqlite3RollbackJournal) {
  REQUIRE_PROGRAM("sqlite3");
  sqlite_round(mnt_ / "db.sqlite", "delete");
  // The host copy is a consistent database too.
  Ran r = sh("sqlite3 " + q(mount_->backing() / "db.sqlite") +
             " 'PRAGMA integrity_check; SELECT count(*) FROM t;'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n900\n");
}

// WAL mode maps the -shm file MAP_SHARED: shared-memory mmap through the mount.
TEST_F(Apps, Sqlite3Wal) {
  REQUIRE_PROGRAM("sqlite3");
  sqlite_round(mnt_ / "wal.sqlite", "wal");
  Ran r = sh("sqlite3 " + q(mnt_ / "wal.sqlite") +
             " 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA integrity_check;'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "0|0|0\nok\n");
}

// What editors do: write a temp file, fsync it, rename it over the original. An fd on the old file
// still reads the old content; the new file has the new content and the old mode.
TEST_F(Apps, EditorWriteTempAndRename) {
  const fs::path file = mnt_ / "doc.txt";
  write_file(file, "original text\n");
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  int old_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);
  for (int round = 0; round < 20; ++round) {
    const fs::path tmp = mnt_ / (".doc.txt.swp" + std::to_string(round));
    std::string text = "version " + std::to_string(round) + "\n" + pattern(round * 1000, round);
    int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ASSERT_EQ(::fchmod(fd, 0640), 0) << strerror(errno);
    ASSERT_EQ(::fsync(fd), 0) << strerror(errno);
    ASSERT_EQ(::close(fd), 0);
    ASSERT_EQ(::rename(tmp.c_str(), file.c_str()), 0) << strerror(errno);
    EXPECT_EQ(read_file(file), text);
    EXPECT_FALSE(fs::exists(tmp));
  }
  char buf[64] = {};
  EXPECT_EQ(::pread(old_fd, buf, sizeof buf - 1, 0), 14);
  EXPECT_STREQ(buf, "original text\n");
  ::close(old_fd);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_nlink, 1u);
  // vim's other way: rename to a backup, write a new file, remove the backup.
  ASSERT_EQ(::rename(file.c_str(), (mnt_ / "doc.txt~").c_str()), 0);
  write_file(file, "fresh\n");
  ASSERT_EQ(::unlink((mnt_ / "doc.txt~").c_str()), 0);
  EXPECT_EQ(read_file(mount_->backing() / "doc.txt"), "fresh\n");
  std::vector<std::string> left;
  for (auto& e : fs::directory_iterator(mnt_)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"doc.txt"});
  // sed -i is a real program doing the same dance.
  if (have("sed")) {
    write_file(file, "alpha\nbeta\n");
    ::chmod(file.c_str(), 0604);
    Ran r = sh("sed -i s/beta/gamma/ " + q(file));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(read_file(file), "alpha\ngamma\n");
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0604u);
  }
}

}  // namespace

namespace {

// Agent workloads that make symlinks: a Python virtual environment and npm packages with
// commands. Links inside the mount are stored (fusefs/objects/); a link to the interpreter outside
// the mount (an absolute target) is refused, and venv then copies the interpreter instead.

TEST_F(Apps, PythonVenvWithCopiesRunsItsInterpreter) {
  REQUIRE_PROGRAM("python3");
  Ran r = sh("cd " + q(mnt_) +
             " && python3 -m venv --copies venv && ./venv/bin/python -c "
             "'import sys; print(sys.prefix)' && ./venv/bin/python -m pip --version");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find((mnt_ / "venv").string()), std::string::npos) << r.out;
  // lib64 -> lib is the one link venv makes here, and it is contained.
  EXPECT_EQ(link_target(mnt_ / "venv" / "lib64"), "lib");
}

TEST_F(Apps, PythonVenvByDefaultFallsBackToCopyingTheInterpreter) {
  REQUIRE_PROGRAM("python3");
  Ran r = sh("cd " + q(mnt_) +
             " && python3 -m venv --without-pip venv && ./venv/bin/python3 -c "
             "'import sys; print(sys.prefix)'");
  ASSERT_EQ(r.status, 0) << r.out;
  // venv's own symlink to the interpreter (absolute, outside the mount) is refused (EPERM): venv
  // says so and copies it.
  EXPECT_NE(r.out.find("Unable to symlink"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::lstat((mnt_ / "venv" / "bin" / "python3").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // bin/python -> python3 is relative and stays a link.
  EXPECT_EQ(link_target(mnt_ / "venv" / "bin" / "python"), "python3");
}

TEST_F(Apps, NpmInstallMakesBinLinksThatRun) {
  REQUIRE_PROGRAM("npm");
  REQUIRE_PROGRAM("node");
  fs::create_directory(mnt_ / "proj");
  // The npm cache lives outside the mount; the registry is the only network this needs.
  Ran r = sh("cd " + q(mnt_ / "proj") + " && HOME=" + q(out_) +
             " timeout 180 npm install --no-audit --no-fund --no-update-notifier"
             " is-number@7 semver@7");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(link_target(mnt_ / "proj" / "node_modules" / ".bin" / "semver"),
            "../semver/bin/semver.js");
  r = sh("cd " + q(mnt_ / "proj") +
         " && ./node_modules/.bin/semver -r '>=1.2' 1.2.3 && node -e "
         "\"console.log(require('is-number')(5))\"");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "1.2.3\ntrue\n");
}

}  // namespace
