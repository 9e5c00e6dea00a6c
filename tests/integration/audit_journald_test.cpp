// Through a real mount: the audit log's journald sink. The test stands in for journald: it binds
// the datagram socket sd_journal_send writes to (/run/systemd/journal/socket) and reads the
// native-protocol fields the daemon sends for a denial. Skipped where a real journald owns it.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <thread>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

class FakeJournal {
 public:
  FakeJournal() {
    fs::create_directories(fs::path(kJournalSocket).parent_path());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kJournalSocket);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~FakeJournal() {
    if (fd_ >= 0) ::close(fd_);
    if (bound_) ::unlink(kJournalSocket);
  }
  bool bound() const { return bound_; }
  // Every datagram received within timeout_ms, concatenated.
  std::string drain(int timeout_ms) {
    std::string all;
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, timeout_ms) > 0) {
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      all.append(buf, static_cast<size_t>(n));
      all += '\n';
      timeout_ms = 200;
    }
    return all;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(AuditJournaldTest, DenialsReachTheJournalWithTheirFields) {
  if (fs::exists(kJournalSocket)) GTEST_SKIP() << "a real journald owns " << kJournalSocket;
  FakeJournal journal;
  ASSERT_TRUE(journal.bound());
  PolicyMount p(
      "version: 1\ntenant: jt\nrules:\n  - {path: /keys, access: deny}\n"
      "audit:\n  sink: journald\n");
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("keys"));
  EXPECT_EQ(open_errno(p.mnt("keys"), O_RDONLY), EACCES);
  std::string sent = journal.drain(3000);
  EXPECT_NE(sent.find("SYSLOG_IDENTIFIER=confinefs"), std::string::npos) << sent;
  EXPECT_NE(sent.find("CONFINEFS_AUDIT=1"), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"tenant\":\"jt\""), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"path\":\"/keys\""), std::string::npos) << sent;
  EXPECT_NE(sent.find("\"error\":\"EACCES\""), std::string::npos) << sent;
}

}  // namespace
}  // namespace confinefs::testing
