#include "fusefs/objects/marker.h"

namespace confinefs::objects {

std::string_view marker_of(NodeType type) noexcept {
  switch (type) {
    case NodeType::kSymlink: return "symlink";
    case NodeType::kFifo: return "fifo";
    case NodeType::kSocket: return "socket";
    case NodeType::kDirectory:
    case NodeType::kRegular: break;
  }
  return "";
}

std::optional<NodeType> type_of_marker(std::string_view value) noexcept {
  for (NodeType t : {NodeType::kSymlink, NodeType::kFifo, NodeType::kSocket}) {
    if (value == marker_of(t)) return t;
  }
  return std::nullopt;
}

struct stat present(NodeType type, struct stat host, bool client_sticky) noexcept {
  mode_t perms = (host.st_mode & 07777 & ~kObjectBit) | (client_sticky ? S_ISVTX : 0);
  switch (type) {
    case NodeType::kSymlink:
      host.st_mode = S_IFLNK | 0777;  // the size stays: it is the target's length
      break;
    case NodeType::kFifo:
      host.st_mode = S_IFIFO | perms;
      host.st_size = 0;
      break;
    case NodeType::kSocket:
      host.st_mode = S_IFSOCK | perms;
      host.st_size = 0;
      break;
    case NodeType::kDirectory:
    case NodeType::kRegular: break;
  }
  return host;
}

}  // namespace confinefs::objects
