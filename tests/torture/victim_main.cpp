// torture-victim: works through one or more mounts with a scenario's operations until the
// deadline, then writes a one-line JSON report and exits without waiting for threads that are
// stuck inside the filesystem (a wedged daemon must not wedge the suite).
//   torture-victim --scenario S --mounts M1[,M2...] --token T --seconds N --threads K --report FILE
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <thread>

#include "victim.h"

namespace torture {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// What one worker thread is doing right now, readable by the watchdog without a lock.
struct Slot {
  pthread_t thread{};
  std::atomic<int64_t> since_ms{0};  // 0 while between operations
  std::atomic<const Op*> op{nullptr};
  std::atomic<const std::string*> mnt{nullptr};
  std::atomic<bool> done{false};
};

std::vector<Op> ops_for(const std::string& scenario) {
  static const std::map<std::string, std::function<std::vector<Op>()>> kOps = {
      {"symlink", [] { return results_ops("results.json", false); }},
      {"hardlink", [] { return results_ops("results.json", true); }},
      {"hardlink-held", [] { return results_ops("results.json", true); }},
      {"hardlink-race", [] { return results_ops("results.json", false); }},
      {"hardlink-cwd", [] { return results_ops("results.json", false); }},
      {"hardlink-mntns", [] { return results_ops("results.json", false); }},
      {"intermediate", [] { return subdir_ops("d"); }},
      {"replace", [] { return replace_ops("f"); }},
      {"exchange",
       [] {
         auto ops = results_ops("results.json", true);
         for (auto& op : subdir_ops("d")) ops.push_back(op);
         return ops;
       }},
      {"read-flip", [] { return read_flip_ops("r", "ls"); }},
      {"rename-out", [] { return rename_out_ops("work"); }},
      {"rename-out-peek", [] { return rename_out_peek_ops("peek"); }},
      {"fifo", [] { return fifo_ops("p"); }},
      {"device", [] { return device_ops("dev"); }},
      {"mount-flip", [] { return mount_flip_ops("mp"); }},
      {"churn", [] { return churn_ops("many"); }},
      {"link-climb", [] { return link_climb_ops(); }},
      {"second-mount", [] { return second_mount_ops(); }},
      {"policy-rename", [] { return policy_rename_ops(); }},
      {"second-user", [] { return second_user_ops(); }},
      {"multi-mount",
       [] {
         std::vector<Op> ops;
         for (auto set : {results_ops("results.json", false), results_ops("hl.json", true),
                          subdir_ops("d"), read_flip_ops("r", "ls"), fifo_ops("p")})
           for (auto& op : set) ops.push_back(op);
         return ops;
       }},
  };
  auto it = kOps.find(scenario);
  if (it == kOps.end()) throw SetupError("unknown scenario " + scenario);
  return it->second();
}

// Each thread walks the operations in order, starting at a different offset, and moves on to
// the next mount after a full round, so every mount sees every operation.
void worker(unsigned tid, Slot& slot, const std::vector<Op>& ops,
            const std::vector<std::string>& mounts) {
  for (uint64_t n = 0; !stopping(); ++n) {
    const Op& op = ops[(n + tid) % ops.size()];
    const std::string& mnt = mounts[(n / ops.size() + tid) % mounts.size()];
    slot.op.store(&op);
    slot.mnt.store(&mnt);
    slot.since_ms.store(now_ms());
    op.fn(OpCtx{mnt, tid, n});
    slot.since_ms.store(0);
  }
  slot.done.store(true);
}

void on_kick(int) {}

// A victim blocked on a surfaced FIFO is its own problem, not the daemon's: a signal without
// SA_RESTART breaks such waits with EINTR. A thread blocked in a request the daemon never
// answers stays blocked, and is reported as stalled.
void install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_kick;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
}

constexpr int64_t kKickAfterMs = 250;
constexpr int64_t kStalledAfterMs = 1500;

void watch(std::vector<Slot>& slots, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (Slot& s : slots) {
      int64_t since = s.since_ms.load();
      if (since && now_ms() - since > kKickAfterMs) pthread_kill(s.thread, SIGUSR1);
    }
  }
  g_stop.store(true);
  // Let the last operations finish, still kicking FIFO waits, before judging anything stalled.
  for (int i = 0; i < 40; ++i) {
    bool all_done = true;
    for (Slot& s : slots) {
      if (s.done.load()) continue;
      all_done = false;
      if (now_ms() - s.since_ms.load() > kKickAfterMs) pthread_kill(s.thread, SIGUSR1);
    }
    if (all_done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string stalled_json(std::vector<Slot>& slots, uint64_t& count) {
  std::string out = "[";
  for (Slot& s : slots) {
    int64_t since = s.since_ms.load();
    if (s.done.load() || !since || now_ms() - since < kStalledAfterMs) continue;
    if (count++) out += ", ";
    out += "\"" + json_escape(std::string(s.op.load()->name) + " on " + *s.mnt.load()) + " for " +
           std::to_string(now_ms() - since) + " ms\"";
  }
  return out + "]";
}

int run(int argc, char** argv) {
  Options opt(argc, argv);
  std::string scenario = opt.str("scenario");
  std::vector<std::string> mounts = opt.list("mounts");
  g_token = opt.str("token");
  std::vector<Op> ops = ops_for(scenario);
  unsigned threads = static_cast<unsigned>(opt.num_or("threads", 2));
  install_kick_handler();
  // The report is opened first: with --uid the victim is another user from here on (a second
  // user of a shared mount), who may not write where the report goes.
  FILE* report = fopen(opt.str("report").c_str(), "we");
  if (long uid = opt.num_or("uid", -1); uid >= 0) {
    auto id = static_cast<uid_t>(uid);
    if (setgroups(0, nullptr) != 0 || setgid(id) != 0 || setuid(id) != 0) {
      perror("torture-victim: switching to --uid");
      return 2;
    }
  }

  std::vector<Slot> slots(threads);
  for (unsigned t = 0; t < threads; ++t) {
    std::thread th(worker, t, std::ref(slots[t]), std::cref(ops), std::cref(mounts));
    slots[t].thread = th.native_handle();
    th.detach();  // never joined: a thread stuck in a wedged mount must not hold up the report
  }
  watch(slots, static_cast<double>(opt.num_or("seconds", 5)));

  uint64_t stalled = 0;
  std::string stalled_list = stalled_json(slots, stalled);
  std::string json = "{\"role\": \"victim\", \"scenario\": \"" + json_escape(scenario) +
                     "\", \"ops\": " + std::to_string(g_victim.ops.load()) +
                     ", \"leaks\": " + std::to_string(g_victim.leaks.count()) +
                     ", \"leak_examples\": " + g_victim.leaks.json_examples() +
                     ", \"surfaced\": " + std::to_string(g_victim.surfaced.count()) +
                     ", \"surfaced_examples\": " + g_victim.surfaced.json_examples() +
                     ", \"stalled\": " + std::to_string(stalled) +
                     ", \"stalled_ops\": " + stalled_list +
                     ", \"errors\": " + g_victim.errors.json() + "}\n";
  if (FILE* f = report) {
    fputs(json.c_str(), f);
    fclose(f);
  }
  // _exit: detached threads may still be inside the filesystem; exit_group kills them.
  _exit(0);
}

}  // namespace
}  // namespace torture

int main(int argc, char** argv) {
  try {
    return torture::run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "torture-victim: %s\n", e.what());
    return 2;
  }
}
