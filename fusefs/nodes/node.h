// Node: one backing inode the kernel knows by a node id.
// Threat (threats 4, 17): identities are (dev, ino) read from an fd, never names or strings; a
// node keeps its O_PATH handle open, so the inode cannot be freed and its number reused while the
// kernel may still send requests for it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fusefs/fd.h"

namespace confinefs {
inline namespace nodes {

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const InodeKey&) const = default;
};

struct InodeKeyHash {
  size_t operator()(const InodeKey& k) const noexcept {
    return std::hash<uint64_t>()(static_cast<uint64_t>(k.ino) * 0x9E3779B97F4A7C15ull ^ k.dev);
  }
};

// What the mount shows. Symlinks, FIFOs and sockets made through the mount are regular files on
// the host (fusefs/objects/kind.h): only directories are directories there.
enum class NodeType : unsigned char { kDirectory, kRegular, kSymlink, kFifo, kSocket };

inline NodeType node_type_of(mode_t mode) {
  return S_ISDIR(mode) ? NodeType::kDirectory : NodeType::kRegular;
}

// One node per inode and type shown: a stored FIFO renamed outside is a regular file at its new
// name, and the kernel must never see one node change type, so that is another node.
struct NodeKey {
  InodeKey inode;
  NodeType type;
  bool operator==(const NodeKey&) const = default;
};

struct NodeKeyHash {
  size_t operator()(const NodeKey& k) const noexcept {
    return InodeKeyHash()(k.inode) ^ static_cast<size_t>(k.type) * 0x9E3779B97F4A7C15ull;
  }
};

// Where the kernel may hold a node. Guarded by the node table's lock (read it only under that
// lock: the table's observers are called with it held).
struct NodePlace {
  uint64_t parent = 0;  // node id of the directory it was last resolved in (0 for the root)
  std::string name;     // the name it was last resolved as, for virtual paths
  // Every directory the kernel may hold it under: each parent it was ever reported in while it
  // lived (a rename's reply reaches the kernel's dentry after the daemon moved it; a lookup's
  // move may fail in the kernel). Link containment counts depth over all of them.
  std::vector<uint64_t> parents;
  // The least depth it must keep so that every link served beneath it stays inside the mount
  // (node_table.h, serve_link).
  unsigned depth_floor = 0;
};

// A node is in one of two states, with one set of invariants (node_table.h):
// - served: this daemon resolved the inode and holds its O_PATH handle; requests act on it.
// - recorded: a predecessor daemon's node (nodes/node_journal.h) that the kernel still holds by
//   its id, not yet verified here. It has no handle and is never handed to a request; a lookup
//   that lands on its very inode and type serves it (ops/resume.cpp), anything else drops it.
// Both count in the table's bound and keep their place, so link containment holds across a
// restart.
class Node {
 public:
  // A served node.
  Node(uint64_t id, InodeKey key, NodeType type, Fd handle)
      : id_(id), key_(key), type_(type), handle_(std::move(handle)) {}
  // A recorded node, at place.
  Node(uint64_t id, InodeKey key, NodeType type, NodePlace place)
      : id_(id), key_(key), type_(type), place_(std::move(place)) {}

  uint64_t id() const noexcept { return id_; }
  const InodeKey& key() const noexcept { return key_; }
  NodeType type() const noexcept { return type_; }
  bool is_dir() const noexcept { return type_ == NodeType::kDirectory; }
  // O_PATH handle: may be walked from (directories) and reopened for I/O, never read or written.
  FdRef handle() const noexcept { return handle_.ref(); }
  bool served() const noexcept { return handle_.valid(); }
  // Under the table's lock only.
  const NodePlace& place() const noexcept { return place_; }

  // Threat 5: once this inode has been seen with a second link it stays refused for the node's
  // life. Removing the backing name afterwards leaves a single link, the one outside, so a link
  // count checked only at use would then pass and send writes to the outside file.
  void saw_link_count(nlink_t n) const noexcept {
    if (n > 1 && type_ != NodeType::kDirectory)  // a stored link is a host file too
      multiply_linked_.store(true, std::memory_order_relaxed);
  }
  bool multiply_linked() const noexcept { return multiply_linked_.load(std::memory_order_relaxed); }

  // Threat 42: set once guards/verify.cpp has proven, under the kernel's own locks, that at one
  // instant this inode had no name but the one inside BACKING (or none at all), or the daemon
  // made it. From then on its content is BACKING's: a name it gets later is made from inside
  // (a move out, threat 7), and the inode a node pins never changes.
  bool sole_name_proven() const noexcept {
    return sole_name_proven_.load(std::memory_order_acquire);
  }
  void set_sole_name_proven() const noexcept {
    sole_name_proven_.store(true, std::memory_order_release);
  }

  // Quota accounting of files removed while open (threat 26): a file whose name goes while the
  // daemon holds it open keeps its bytes on disk, and they may still change (a truncate of the
  // open fd gives them back). So its bytes are given back once, at its last close, instead of
  // at the unlink and again by the truncate. Races only ever leave bytes counted, never twice
  // given back.
  void opened() const noexcept { open_files_.fetch_add(1, std::memory_order_acq_rel); }
  // True when this was the last open file of a node whose name was removed meanwhile: the
  // caller gives its remaining bytes back.
  bool closed() const noexcept {
    return open_files_.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
           removed_while_open_.exchange(false, std::memory_order_acq_rel);
  }
  // At the removal of a name: true (bytes kept until the last close) when the daemon holds the
  // file open.
  bool defer_release() const noexcept {
    if (open_files_.load(std::memory_order_acquire) == 0) return false;
    removed_while_open_.store(true, std::memory_order_release);
    return true;
  }

  // Whether this directory is known to carry objects::kHolderAttr (set once per node).
  bool marked_holder() const noexcept { return marked_holder_.load(std::memory_order_relaxed); }
  void set_marked_holder() const noexcept { marked_holder_.store(true, std::memory_order_relaxed); }

  // Records the content stamp (mtime, ctime, size) seen at an open; true when it equals the stamp
  // of the previous open, i.e. nobody changed the file in between and the kernel may keep the
  // pages it cached (cache=auto).
  bool same_content_as_last_open(const struct stat& st) const noexcept {
    uint64_t stamp = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000007u ^
                     static_cast<uint64_t>(st.st_mtim.tv_nsec) * 0x9E3779B97F4A7C15ull ^
                     static_cast<uint64_t>(st.st_ctim.tv_nsec) * 0xC2B2AE3D27D4EB4Full ^
                     static_cast<uint64_t>(st.st_ctim.tv_sec) ^
                     static_cast<uint64_t>(st.st_size) << 17;
    return content_stamp_.exchange(stamp, std::memory_order_relaxed) == stamp;
  }
  // A write bypassed the kernel's page cache: pages it cached meanwhile may hold the old data
  // under the new stamp, so the next open must drop them whatever the cache mode.
  void mark_pages_stale() const noexcept { pages_stale_.store(true, std::memory_order_release); }
  bool take_pages_stale() const noexcept {
    return pages_stale_.exchange(false, std::memory_order_acq_rel);
  }

 private:
  friend class NodeTable;
  const uint64_t id_;
  const InodeKey key_;
  const NodeType type_;
  const Fd handle_;
  mutable std::atomic<bool> multiply_linked_{false};
  mutable std::atomic<bool> sole_name_proven_{false};
  mutable std::atomic<uint64_t> content_stamp_{0};
  mutable std::atomic<bool> pages_stale_{false};
  mutable std::atomic<int> open_files_{0};
  mutable std::atomic<bool> removed_while_open_{false};
  mutable std::atomic<bool> marked_holder_{false};
  // Guarded by NodeTable::mutex_.
  NodePlace place_;
  uint64_t lookups_ = 0;
  uid_t caller_ = static_cast<uid_t>(-1);  // whose lookup made it (NodeTable's per-caller share)
  // Handed to the kernel by a predecessor daemon: the kernel's lookup count is unknown here, and
  // the kernel sends a node's FORGET once, with its whole count, when it drops the inode.
  bool resumed_ = false;
};

}  // namespace nodes
}  // namespace confinefs
