// How symlinks, FIFOs and sockets made through the mount are stored on the host, and shown.
// Threat (the host follows or blocks on what a sandbox made): on the host every such object is
// a plain regular file that no tool follows or blocks on: the sticky bit (meaningless on a
// regular file for Linux) says "maybe an object", and an extended attribute in the user
// namespace says which. The attribute is never shown or accepted through the mount (ops/xattr.cpp).
// Anyone who can write BACKING can forge both, so neither is trusted alone: a forged link is
// served only when it is contained (link_target.h), and FIFOs and sockets only to the mount that
// made them (made_here.h).
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string_view>

#include "fusefs/nodes/node.h"

namespace confinefs::objects {

constexpr const char* kMarkerAttr = "user.confinefs.object";
// On a directory: a link, FIFO or socket was made or moved into it through a mount, so a plain
// listing must look at its regular files' modes (ops/dir.cpp). Listings of other directories
// cost nothing more.
constexpr const char* kHolderAttr = "user.confinefs.objects";
constexpr std::string_view kHiddenAttrPrefix = "user.confinefs.";
constexpr mode_t kObjectBit = S_ISVTX;
// Host permissions of a stored link: readable by whoever may read the directory, like the
// permissions the kernel ignores on a symlink.
constexpr mode_t kLinkHostMode = kObjectBit | 0644;

// The marker value for type (symlink, fifo, socket) and back.
std::string_view marker_of(NodeType type) noexcept;
std::optional<NodeType> type_of_marker(std::string_view value) noexcept;

// True for attribute names the mount keeps to itself.
inline bool is_hidden_attr(std::string_view name) noexcept {
  return name.substr(0, kHiddenAttrPrefix.size()) == kHiddenAttrPrefix;
}

// The attributes the client sees for a node of type whose host file has attributes host;
// client_sticky: a FIFO's or socket's own sticky bit (made_here.h keeps it).
struct stat present(NodeType type, struct stat host, bool client_sticky = false) noexcept;

}  // namespace confinefs::objects
