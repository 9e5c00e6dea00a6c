#include "fusefs/mount/request.h"

namespace confinefs {
inline namespace mount {

const char* op_name(Op op) noexcept {
  switch (op) {
    case Op::kLookup: return "lookup";
    case Op::kForget: return "forget";
    case Op::kGetattr: return "getattr";
    case Op::kSetattr: return "setattr";
    case Op::kMknod: return "mknod";
    case Op::kMkdir: return "mkdir";
    case Op::kUnlink: return "unlink";
    case Op::kRmdir: return "rmdir";
    case Op::kSymlink: return "symlink";
    case Op::kReadlink: return "readlink";
    case Op::kLink: return "link";
    case Op::kRename: return "rename";
    case Op::kOpen: return "open";
    case Op::kCreate: return "create";
    case Op::kWrite: return "write";
    case Op::kOpendir: return "opendir";
    case Op::kReaddir: return "readdir";
    case Op::kReaddirplus: return "readdirplus";
    case Op::kStatfs: return "statfs";
    case Op::kSetxattr: return "setxattr";
    case Op::kGetxattr: return "getxattr";
    case Op::kListxattr: return "listxattr";
    case Op::kRemovexattr: return "removexattr";
    case Op::kAccess: return "access";
    case Op::kFallocate: return "fallocate";
    case Op::kCopyFileRange: return "copy_file_range";
  }
  return "?";
}

}  // namespace mount
}  // namespace confinefs
