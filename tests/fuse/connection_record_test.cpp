// The connection's record kept for a successor (fuse/connection_record.h): INIT recorded as it
// goes through the channel, replayed to a successor as its first read with every other reader
// held back, and the successor's answer swallowed, or the session ended when that answer
// differs; each successor's handle numbers above its predecessors'. The whole
// daemon resuming a real connection is tests/integration/resume_test.cpp.
#include "fusefs/fuse/connection_record.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <future>
#include <vector>

#include "fusefs/fuse/libfuse314/wire.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::fuse {
namespace {

std::vector<std::byte> init_request(uint64_t unique) {
  std::vector<std::byte> bytes(sizeof(wire::InHeader) + sizeof(wire::InitIn));
  wire::InHeader in{};
  in.len = static_cast<uint32_t>(bytes.size());
  in.opcode = wire::kOpInit;
  in.unique = unique;
  wire::InitIn init{};
  init.major = 7;
  init.minor = 45;
  std::memcpy(bytes.data(), &in, sizeof in);
  std::memcpy(bytes.data() + sizeof in, &init, sizeof init);
  return bytes;
}

struct Reply {
  wire::OutHeader out{};
  wire::InitOut body{};
  explicit Reply(uint64_t unique, uint32_t max_write) {
    out.len = sizeof out + sizeof body;
    out.unique = unique;
    body.major = 7;
    body.minor = 40;
    body.max_write = max_write;
  }
  std::vector<iovec> parts() { return {{&out, sizeof out}, {&body, sizeof body}}; }
};

bool readable(FdRef fd) {
  pollfd p{fd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// A first daemon's record: the kernel's INIT request and the reply that went out (to a pipe
// standing in for /dev/fuse).
Fd recorded(uint32_t max_write, sys::Pipe& connection) {
  auto first = ConnectionRecord::record();
  EXPECT_TRUE(first);
  EXPECT_TRUE(first->record_mount({17, 4242}));
  first->saw_request(init_request(2));
  Reply reply(2, max_write);
  auto parts = reply.parts();
  EXPECT_EQ(first->send_reply(connection.write.get(), parts.data(), 2), sizeof reply.out + 64);
  EXPECT_TRUE(readable(connection.read.ref())) << "a first daemon's reply reaches the kernel";
  auto copy = sys::dup(first->fd());
  EXPECT_TRUE(copy);
  return std::move(copy.value());
}

TEST(ConnectionRecord, ASuccessorGetsTheRecordedInitAndItsAnswerIsSwallowed) {
  auto connection = sys::pipe(O_CLOEXEC);
  ASSERT_TRUE(connection);
  auto replay = ConnectionRecord::replay(recorded(1 << 20, connection.value()));
  ASSERT_TRUE(replay) << replay.code();
  EXPECT_EQ(replay->mount().id, 17u);
  EXPECT_EQ(replay->mount().unique_id, 4242u);
  auto copy = sys::dup(replay->fd());
  ASSERT_TRUE(copy);
  auto again = ConnectionRecord::replay(std::move(copy.value()));
  ASSERT_TRUE(again);
  EXPECT_GT(again->first_handle(), replay->first_handle())
      << "a successor's handle numbers start above every number its predecessors gave";
  EXPECT_GT(replay->first_handle(), uint64_t{1} << 40);
  char drain[256];
  ASSERT_GT(::read(connection->read.get(), drain, sizeof drain), 0);

  std::vector<std::byte> buf(4096);
  auto first_read = replay->replayed_request(buf.data(), buf.size());
  ASSERT_TRUE(first_read);
  ASSERT_EQ(*first_read, static_cast<ssize_t>(init_request(2).size()));
  EXPECT_EQ(std::memcmp(buf.data(), init_request(2).data(), *first_read), 0);

  // Another worker's read waits for the INIT's answer: before it, libfuse answers EIO.
  auto other = std::async(std::launch::async, [&] {
    std::vector<std::byte> b(4096);
    return replay->replayed_request(b.data(), b.size());
  });
  EXPECT_EQ(other.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  Reply same(2, 1 << 20);
  auto parts = same.parts();
  EXPECT_EQ(replay->send_reply(connection->write.get(), parts.data(), 2), sizeof same.out + 64);
  EXPECT_TRUE(replay->agreed());
  EXPECT_EQ(other.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "held until what the INIT decided is in force";
  replay->release_readers();
  EXPECT_FALSE(other.get().has_value()) << "released to read the connection";
  // The kernel has its answer already; what went to it instead asks it to resend what the
  // predecessor read and did not answer, before any other worker reads.
  wire::OutHeader resend{};
  ASSERT_EQ(::read(connection->read.get(), &resend, sizeof resend), ssize_t{sizeof resend});
  EXPECT_EQ(resend.len, sizeof resend);
  EXPECT_EQ(resend.error, wire::kNotifyResend);
  EXPECT_EQ(resend.unique, 0u) << "a notification";
  EXPECT_FALSE(readable(connection->read.ref())) << "nothing else";
}

TEST(ConnectionRecord, ADifferentAnswerEndsTheSession) {
  auto connection = sys::pipe(O_CLOEXEC);
  ASSERT_TRUE(connection);
  auto replay = ConnectionRecord::replay(recorded(1 << 20, connection.value()));
  ASSERT_TRUE(replay);
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE(replay->replayed_request(buf.data(), buf.size()));
  Reply other(2, 1 << 17);  // another max_write than the kernel agreed to
  auto parts = other.parts();
  replay->send_reply(connection->write.get(), parts.data(), 2);
  EXPECT_FALSE(replay->agreed());
  replay->release_readers();
  auto next = replay->replayed_request(buf.data(), buf.size());
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, -1);
  EXPECT_EQ(errno, ENODEV) << "libfuse ends the session quietly on ENODEV";
}

TEST(ConnectionRecord, AnIncompleteRecordIsRefused) {
  auto first = ConnectionRecord::record();
  ASSERT_TRUE(first);
  auto fresh = sys::dup(first->fd());
  ASSERT_TRUE(fresh);
  EXPECT_EQ(ConnectionRecord::replay(std::move(fresh.value())).code(), EINVAL) << "nothing yet";
  ASSERT_TRUE(first->record_mount({17, 4242}));
  first->saw_request(init_request(2));
  auto half = sys::dup(first->fd());
  ASSERT_TRUE(half);
  EXPECT_EQ(ConnectionRecord::replay(std::move(half.value())).code(), EINVAL) << "no reply yet";
}

TEST(ConnectionRecord, ANewConnectionReadsTheKernel) {
  auto first = ConnectionRecord::record();
  ASSERT_TRUE(first);
  char buf[64];
  EXPECT_FALSE(first->replayed_request(buf, sizeof buf).has_value());
}

}  // namespace
}  // namespace confinefs::fuse
