// Through a real mount: the audit log's file sink. Every line is JSON with the documented
// fields; allowed mutations are logged on request; a flood of denials is capped by the rate
// limiter, which reports how many lines it dropped when it resumes.
#include <thread>

#include "tests/integration/policy_support.h"

namespace confinefs::testing {
namespace {

// Whether the audit file has a line with text in it yet (the sink writes asynchronously).
bool logged(const fs::path& log, const std::string& text) {
  std::error_code ec;
  if (!fs::exists(log, ec)) return false;
  return read_file(log).find(text) != std::string::npos;
}

// Checks the audit file with python3's json module; the script prints one error per bad line.
int check_json(const fs::path& log, const std::string& assertions) {
  std::string script =
      "import json,sys\nlines=[json.loads(l) for l in open(sys.argv[1])]\n" + assertions;
  TempTree t;
  write_file(t.path() / "check.py", script);
  return run_command({"python3", (t.path() / "check.py").string(), log.string()});
}

std::string audited(const fs::path& log) {
  return "version: 1\ntenant: audit-t\nrules:\n  - {path: /secret, access: hidden}\n"
         "  - {path: /keys, access: deny}\naudit:\n  sink: " +
         log.string() + "\n";
}

TEST(PolicyAuditTest, DenialsAreJsonLinesWithEveryField) {
  TempTree logs;
  fs::path log = logs.path() / "audit.jsonl";
  PolicyMount p(audited(log));
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("keys"));
  fs::create_directories(p.backing("secret"));
  EXPECT_EQ(stat_errno(p.mnt("secret")), ENOENT);
  EXPECT_EQ(open_errno(p.mnt("keys"), O_RDONLY), EACCES);
  EXPECT_TRUE(eventually([&] { return logged(log, "\"/keys\"") && logged(log, "\"/secret\""); }));
  EXPECT_EQ(check_json(log, R"(
need = {"time","tenant","event","kind","op","path","errno","error","access","rule","pid","uid","gid"}
d = [l for l in lines if l.get("path") == "/keys" and l["event"] == "denied"]
assert d, lines
for l in d: assert need <= set(l), l
l = d[0]
assert l["tenant"] == "audit-t" and l["errno"] == 13 and l["error"] == "EACCES", l
assert l["access"] == "deny" and l["rule"]["index"] == 1 and l["rule"]["glob"] == "/keys", l
assert l["rule"]["line"] == 5 and l["pid"] > 0, l
h = [l for l in lines if l.get("path") == "/secret"]
assert h and h[0]["errno"] == 2 and h[0]["access"] == "hidden", lines
)"),
            0);
}

TEST(PolicyAuditTest, AllowedMutationsAreLoggedOnRequest) {
  TempTree logs;
  fs::path log = logs.path() / "audit.jsonl";
  PolicyMount p("version: 1\naudit: {sink: " + log.string() + ", log_allowed_mutations: true}\n");
  ASSERT_TRUE(p.m().ok());
  write_file(p.mnt("made"), "x");
  EXPECT_TRUE(eventually([&] { return logged(log, "\"/made\""); }));
  EXPECT_EQ(check_json(log, R"(
a = [l for l in lines if l["event"] == "allowed" and l["path"] == "/made"]
assert a and a[0]["op"] == "create" and a[0]["errno"] == 0, lines
)"),
            0);
}

TEST(PolicyAuditTest, RateLimitCapsAFloodAndReportsWhatItDropped) {
  TempTree logs;
  fs::path log = logs.path() / "audit.jsonl";
  PolicyMount p(audited(log));
  ASSERT_TRUE(p.m().ok());
  fs::create_directories(p.backing("keys"));
  for (int i = 0; i < 3000; ++i) open_errno(p.mnt("keys"), O_RDONLY);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  open_errno(p.mnt("keys"), O_RDONLY);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(check_json(log, R"(
# 3001 denials in about a second or two: the burst, then about 50 lines a second (each
# preceded by the count of what was dropped since the last one).
assert len(lines) < 1000, len(lines)
s = [l for l in lines if l["event"] == "suppressed"]
d = [l for l in lines if l["event"] == "denied"]
assert s and s[0]["message"].endswith("events suppressed"), s
assert sum(l["suppressed"] for l in s) + len(d) >= 3001, (len(d), s)
)"),
            0);
}

}  // namespace
}  // namespace confinefs::testing
