// FUSE passthrough at the wire level, for a libfuse whose API has none (Debian 12's 3.14): the
// fields of the kernel's FUSE protocol (7.40, Linux 6.9) that carry it, read from the INIT request
// and written into the INIT and OPEN/CREATE replies as they pass libfuse's custom I/O hook
// (fuse/channel_io.cpp). Nothing else here knows byte offsets; the layouts are checked below
// against the kernel's, field by field. A shim: README.md in this folder says what replaces each
// part on libfuse >= 3.17, and which headers stay for the connection record and the drain.
#pragma once

#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace confinefs::fuse::wire {

constexpr uint32_t kOpInit = 26;
// Protocol 7.40 (Linux 6.9): a notification that asks the kernel to put every request the
// daemons on this connection read and did not answer back on its queue, and the bit a request
// so resent carries in its unique id.
constexpr int32_t kNotifyResend = 7;
constexpr uint64_t kUniqueResend = uint64_t{1} << 63;
constexpr uint32_t kInitExt = 1u << 30;         // INIT flags: flags2 carries the upper 32 bits
constexpr uint32_t kWritebackCache = 1u << 16;  // INIT flags: never combined with passthrough
constexpr uint32_t kPassthrough2 = 1u << 5;     // INIT flags2: FUSE_PASSTHROUGH (1ULL << 37)
constexpr uint32_t kOpenPassthrough = 1u << 7;  // fuse_open_out.open_flags: FOPEN_PASSTHROUGH
// A backing file's filesystem must be below the mount's stack depth; 1 admits any filesystem
// that is not itself stacked (FUSE passthrough, overlayfs, ecryptfs).
constexpr uint32_t kMaxStackDepth = 1;

struct InHeader {  // fuse_in_header
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid, gid, pid;
  uint16_t total_extlen;
  uint16_t padding;
};
struct InitIn {  // fuse_init_in (7.36+)
  uint32_t major, minor, max_readahead, flags, flags2;
  uint32_t unused[11];
};
struct OutHeader {  // fuse_out_header
  uint32_t len;
  int32_t error;
  uint64_t unique;
};
struct InitOut {  // fuse_init_out (7.40: max_stack_depth takes the first unused word)
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint32_t unused[6];
};
struct OpenOut {  // fuse_open_out (7.40: backing_id takes the padding)
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};
struct BackingMap {  // fuse_backing_map, for FUSE_DEV_IOC_BACKING_OPEN
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};

static_assert(sizeof(InHeader) == 40 && sizeof(InitIn) == 64 && sizeof(OutHeader) == 16);
static_assert(sizeof(InitOut) == 64 && offsetof(InitOut, flags2) == 32 &&
              offsetof(InitOut, max_stack_depth) == 36);
static_assert(sizeof(OpenOut) == 16 && offsetof(OpenOut, backing_id) == 12);
static_assert(sizeof(BackingMap) == 16);

// The ioctls on /dev/fuse that register an open file as a backing file and release it.
constexpr unsigned long kBackingOpen = _IOW(229, 1, BackingMap);
constexpr unsigned long kBackingClose = _IOW(229, 2, uint32_t);

// What the kernel offered in its INIT request.
struct KernelOffer {
  uint64_t unique;  // the INIT request's id: its reply carries the same
  uint32_t major, minor;
  bool passthrough;  // FUSE_PASSTHROUGH in flags2 (the kernel has CONFIG_FUSE_PASSTHROUGH)
};

// The offer in a request read from /dev/fuse; nullopt for any request but a whole INIT.
std::optional<KernelOffer> read_init_request(std::span<const std::byte> request);

// Asks for passthrough in the body of a successful INIT reply (fuse_init_out, full size): sets
// FUSE_PASSTHROUGH and max_stack_depth. False, and the reply unchanged, when it is shorter or
// asks for writeback caching (the kernel refuses the two together) or lacks FUSE_INIT_EXT.
bool ask_passthrough(std::span<std::byte> init_out);

// Marks an OPEN or CREATE reply body for passthrough to backing_id: its fuse_open_out is the
// body's last 16 bytes (a CREATE's comes after its fuse_entry_out). False when the body is
// shorter than one.
bool set_backing(std::span<std::byte> body, int32_t backing_id);

}  // namespace confinefs::fuse::wire
