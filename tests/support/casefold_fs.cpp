// casefold-fs: a case-insensitive FUSE passthrough, as a backing store for tests (a stand-in for
// ext4/f2fs casefold directories, SMB or vfat, which this kernel does not have). Each component
// of a path matches the first entry of the source directory that is equal ignoring ASCII case;
// a component that matches nothing keeps its spelling (for creating).
//
//   casefold-fs SOURCE MOUNTPOINT [-f] [fuse options]
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace {

std::string g_source;

// The source path for a mount path, each component matched ignoring case.
std::string real(const char* path) {
  std::string out = g_source;
  std::string p(path);
  size_t pos = 1;
  while (pos <= p.size()) {
    size_t end = p.find('/', pos);
    if (end == std::string::npos) end = p.size();
    std::string part = p.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;
    std::string match = part;
    if (DIR* d = opendir(out.c_str())) {
      for (dirent* e; (e = readdir(d));) {
        if (strcasecmp(e->d_name, part.c_str()) == 0) {
          match = e->d_name;
          break;
        }
      }
      closedir(d);
    }
    out += "/" + match;
  }
  return out;
}

int err(int rc) { return rc < 0 ? -errno : 0; }

int do_getattr(const char* p, struct stat* st, fuse_file_info*) {
  return err(lstat(real(p).c_str(), st));
}
int do_readdir(const char* p, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  DIR* d = opendir(real(p).c_str());
  if (d == nullptr) return -errno;
  for (dirent* e; (e = readdir(d));) fill(buf, e->d_name, nullptr, 0, fuse_fill_dir_flags{});
  closedir(d);
  return 0;
}
int do_mkdir(const char* p, mode_t m) { return err(mkdir(real(p).c_str(), m)); }
int do_unlink(const char* p) { return err(unlink(real(p).c_str())); }
int do_rmdir(const char* p) { return err(rmdir(real(p).c_str())); }
int do_rename(const char* a, const char* b, unsigned flags) {
  return flags ? -EINVAL : err(rename(real(a).c_str(), real(b).c_str()));
}
int do_chmod(const char* p, mode_t m, fuse_file_info*) { return err(chmod(real(p).c_str(), m)); }
int do_chown(const char* p, uid_t u, gid_t g, fuse_file_info*) {
  return err(lchown(real(p).c_str(), u, g));
}
int do_truncate(const char* p, off_t n, fuse_file_info*) {
  return err(truncate(real(p).c_str(), n));
}
int do_utimens(const char* p, const timespec ts[2], fuse_file_info*) {
  return err(utimensat(AT_FDCWD, real(p).c_str(), ts, AT_SYMLINK_NOFOLLOW));
}
int do_open(const char* p, fuse_file_info* fi) {
  int fd = open(real(p).c_str(), fi->flags & ~O_NOFOLLOW);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int do_create(const char* p, mode_t m, fuse_file_info* fi) {
  int fd = open(real(p).c_str(), fi->flags | O_CREAT, m);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}
int do_read(const char*, char* buf, size_t n, off_t off, fuse_file_info* fi) {
  ssize_t r = pread(static_cast<int>(fi->fh), buf, n, off);
  return r < 0 ? -errno : static_cast<int>(r);
}
int do_write(const char*, const char* buf, size_t n, off_t off, fuse_file_info* fi) {
  ssize_t r = pwrite(static_cast<int>(fi->fh), buf, n, off);
  return r < 0 ? -errno : static_cast<int>(r);
}
int do_release(const char*, fuse_file_info* fi) { return err(close(static_cast<int>(fi->fh))); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: casefold-fs SOURCE MOUNTPOINT [fuse options]\n");
    return 2;
  }
  char* source = realpath(argv[1], nullptr);
  if (source == nullptr) return perror(argv[1]), 2;
  g_source = source;
  fuse_operations ops{};
  ops.getattr = do_getattr;
  ops.readdir = do_readdir;
  ops.mkdir = do_mkdir;
  ops.unlink = do_unlink;
  ops.rmdir = do_rmdir;
  ops.rename = do_rename;
  ops.chmod = do_chmod;
  ops.chown = do_chown;
  ops.truncate = do_truncate;
  ops.utimens = do_utimens;
  ops.open = do_open;
  ops.create = do_create;
  ops.read = do_read;
  ops.write = do_write;
  ops.release = do_release;
  // argv without SOURCE: fuse_main takes MOUNTPOINT and the options.
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &ops, nullptr);
}
