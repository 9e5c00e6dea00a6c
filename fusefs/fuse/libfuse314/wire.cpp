#include "fusefs/fuse/libfuse314/wire.h"

#include <cstring>

namespace confinefs::fuse::wire {

std::optional<KernelOffer> read_init_request(std::span<const std::byte> request) {
  InHeader in{};
  InitIn init{};
  if (request.size() < sizeof in + sizeof init) return std::nullopt;
  std::memcpy(&in, request.data(), sizeof in);
  if (in.opcode != kOpInit || in.len < sizeof in + sizeof init) return std::nullopt;
  std::memcpy(&init, request.data() + sizeof in, sizeof init);
  bool ext = (init.flags & kInitExt) != 0;
  return KernelOffer{in.unique, init.major, init.minor, ext && (init.flags2 & kPassthrough2) != 0};
}

bool ask_passthrough(std::span<std::byte> init_out) {
  InitOut out{};
  if (init_out.size() < sizeof out) return false;
  std::memcpy(&out, init_out.data(), sizeof out);
  if ((out.flags & kWritebackCache) || !(out.flags & kInitExt)) return false;
  out.flags2 |= kPassthrough2;
  out.max_stack_depth = kMaxStackDepth;
  std::memcpy(init_out.data(), &out, sizeof out);
  return true;
}

bool set_backing(std::span<std::byte> body, int32_t backing_id) {
  OpenOut open{};
  if (body.size() < sizeof open) return false;
  std::byte* at = body.data() + body.size() - sizeof open;
  std::memcpy(&open, at, sizeof open);
  open.open_flags |= kOpenPassthrough;
  open.backing_id = backing_id;
  std::memcpy(at, &open, sizeof open);
  return true;
}

}  // namespace confinefs::fuse::wire
