// The bytes the channel hook reads and changes (fuse/libfuse314/wire.h), against the kernel's
// FUSE protocol 7.40: INIT request flags, the INIT reply's flags2 and max_stack_depth, and the
// OPEN and CREATE replies' open_flags and backing_id.
#include "fusefs/fuse/libfuse314/wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace confinefs::fuse::wire {
namespace {

std::vector<std::byte> init_request(uint32_t flags, uint32_t flags2, uint64_t unique = 2) {
  std::vector<std::byte> bytes(sizeof(InHeader) + sizeof(InitIn));
  InHeader in{};
  in.len = static_cast<uint32_t>(bytes.size());
  in.opcode = kOpInit;
  in.unique = unique;
  InitIn init{};
  init.major = 7;
  init.minor = 45;
  init.flags = flags;
  init.flags2 = flags2;
  std::memcpy(bytes.data(), &in, sizeof in);
  std::memcpy(bytes.data() + sizeof in, &init, sizeof init);
  return bytes;
}

template <typename T>
T read_as(const std::vector<std::byte>& bytes, size_t offset = 0) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

TEST(PassthroughWire, InitRequestOffersPassthroughOnlyInFlags2WithInitExt) {
  auto offer = read_init_request(init_request(kInitExt, kPassthrough2, 42));
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->unique, 42u);
  EXPECT_EQ(offer->minor, 45u);
  EXPECT_TRUE(offer->passthrough);
  EXPECT_FALSE(read_init_request(init_request(0, kPassthrough2))->passthrough);
  EXPECT_FALSE(read_init_request(init_request(kInitExt, 0))->passthrough);
  // FUSE_PASSTHROUGH is bit 37 of the 64-bit flags: bit 5 of flags2, never bit 5 of flags.
  EXPECT_FALSE(read_init_request(init_request(kInitExt | (1u << 5), 0))->passthrough);
}

TEST(PassthroughWire, OnlyAWholeInitIsAnInit) {
  auto request = init_request(kInitExt, kPassthrough2);
  auto lookup = request;
  lookup[4] = std::byte{1};  // opcode FUSE_LOOKUP
  EXPECT_FALSE(read_init_request(lookup).has_value());
  std::vector<std::byte> cut(request.begin(), request.begin() + sizeof(InHeader) + 8);
  EXPECT_FALSE(read_init_request(cut).has_value());
}

std::vector<std::byte> init_reply(uint32_t flags) {
  InitOut out{};
  out.major = 7;
  out.minor = 36;
  out.flags = flags;
  out.flags2 = 1u << 1;  // something libfuse asked for already: kept
  std::vector<std::byte> bytes(sizeof out);
  std::memcpy(bytes.data(), &out, sizeof out);
  return bytes;
}

TEST(PassthroughWire, InitReplyAsksForPassthroughWithAStackDepth) {
  auto reply = init_reply(kInitExt);
  ASSERT_TRUE(ask_passthrough(reply));
  EXPECT_EQ(read_as<uint32_t>(reply, 32), (1u << 1) | (1u << 5));  // flags2
  EXPECT_EQ(read_as<uint32_t>(reply, 36), 1u);                     // max_stack_depth
  EXPECT_EQ(read_as<uint32_t>(reply, 12), kInitExt);               // flags unchanged
  EXPECT_EQ(read_as<uint32_t>(reply, 4), 36u);                     // the minor libfuse speaks
}

TEST(PassthroughWire, InitReplyIsLeftAloneWhereTheKernelWouldRefuse) {
  for (auto reply : {init_reply(kInitExt | kWritebackCache), init_reply(0)}) {
    auto before = reply;
    EXPECT_FALSE(ask_passthrough(reply));
    EXPECT_EQ(reply, before);
  }
  auto shorter = init_reply(kInitExt);
  shorter.resize(24);  // FUSE_COMPAT_22_INIT_OUT_SIZE: a kernel older than 7.23
  EXPECT_FALSE(ask_passthrough(shorter));
}

TEST(PassthroughWire, OpenAndCreateRepliesCarryTheBackingId) {
  OpenOut open{77, 1u << 0, 0};  // FOPEN_DIRECT_IO already set: kept
  std::vector<std::byte> body(sizeof open);
  std::memcpy(body.data(), &open, sizeof open);
  ASSERT_TRUE(set_backing(body, 5));
  auto out = read_as<OpenOut>(body);
  EXPECT_EQ(out.fh, 77u);
  EXPECT_EQ(out.open_flags, (1u << 0) | (1u << 7));
  EXPECT_EQ(out.backing_id, 5);
  // CREATE: fuse_entry_out (128 bytes) then fuse_open_out.
  std::vector<std::byte> create(128 + sizeof open, std::byte{0xee});
  std::memcpy(create.data() + 128, &open, sizeof open);
  ASSERT_TRUE(set_backing(create, 9));
  EXPECT_EQ(read_as<OpenOut>(create, 128).backing_id, 9);
  EXPECT_EQ(create[127], std::byte{0xee});  // the entry is untouched
  std::vector<std::byte> tiny(8);
  EXPECT_FALSE(set_backing(tiny, 1));
}

}  // namespace
}  // namespace confinefs::fuse::wire
