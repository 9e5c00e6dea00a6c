// Audit log pure logic: JSON formatting (escaping hostile names), and the token bucket.
#include <gtest/gtest.h>

#include "fusefs/audit/event.h"
#include "fusefs/audit/rate_limit.h"

namespace confinefs::audit {
namespace {

using std::chrono::milliseconds;
const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));

TEST(AuditFormatTest, PolicyDenialHasEveryField) {
  Event e;
  e.kind = Kind::kPolicy;
  e.op = "open";
  e.path = "/keys/a.pem";
  e.code = EACCES;
  e.access = "deny";
  e.rule = 2;
  e.glob = "/**/*.pem";
  e.line = 9;
  e.client = {1234, 1000, 100};
  EXPECT_EQ(format_event(e, "t1", kT0),
            "{\"time\":\"2023-11-14T22:13:20.000000Z\",\"tenant\":\"t1\",\"event\":\"denied\","
            "\"kind\":\"policy\",\"op\":\"open\",\"path\":\"/keys/a.pem\",\"errno\":13,"
            "\"error\":\"EACCES\",\"access\":\"deny\",\"rule\":{\"index\":2,\"glob\":\"/**/"
            "*.pem\",\"line\":9},\"pid\":1234,\"uid\":1000,\"gid\":100}\n");
}

TEST(AuditFormatTest, ModeDecisionHasNullRuleAndEscapeHasReason) {
  Event e;
  e.op = "create";
  e.path = "/x";
  e.code = EROFS;
  e.access = "read-only";
  EXPECT_NE(format_event(e, "t", kT0).find("\"rule\":null"), std::string::npos);
  Event esc;
  esc.kind = Kind::kEscape;
  esc.op = "lookup";
  esc.path = "/link";
  esc.code = ENOENT;
  esc.reason = "symlink";
  std::string line = format_event(esc, "t", kT0);
  EXPECT_NE(line.find("\"reason\":\"symlink\""), std::string::npos);
  EXPECT_EQ(line.find("\"rule\""), std::string::npos);
}

TEST(AuditFormatTest, HostileNamesCannotBreakTheLine) {
  std::string out;
  append_json_string(&out, std::string("a\"b\\c\nd\x1b[31m\xff", 13));
  EXPECT_EQ(out, "a\\\"b\\\\c\\u000ad\\u001b[31m\\u00ff");
  Event e;
  e.path = "/evil\"}\n{\"forged\":1";
  std::string line = format_event(e, "t", kT0);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per event";
}

TEST(AuditFormatTest, SuppressedLine) {
  EXPECT_EQ(format_suppressed(42, "t", kT0),
            "{\"time\":\"2023-11-14T22:13:20.000000Z\",\"tenant\":\"t\",\"event\":\"suppressed\","
            "\"suppressed\":42,\"message\":\"42 events suppressed\"}\n");
}

TEST(TokenBucketTest, BurstThenSteadyRateAndCountsWhatItDropped) {
  TokenBucket b(3, 10);  // 3 at once, then one per 100 ms
  auto t = TokenBucket::Clock::time_point(std::chrono::seconds(100));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admit(t).emit);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(b.admit(t).emit);
  auto a = b.admit(t + milliseconds(50));
  EXPECT_FALSE(a.emit);
  a = b.admit(t + milliseconds(100));
  EXPECT_TRUE(a.emit);
  EXPECT_EQ(a.suppressed, 6u);
  a = b.admit(t + milliseconds(200));
  EXPECT_TRUE(a.emit);
  EXPECT_EQ(a.suppressed, 0u);
  // A long pause refills to the burst, never beyond.
  auto later = t + std::chrono::seconds(60);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admit(later).emit);
  EXPECT_FALSE(b.admit(later).emit);
}

}  // namespace
}  // namespace confinefs::audit
