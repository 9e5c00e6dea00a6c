#include "fusefs/fuse/node_reclaimer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace confinefs::fuse {
namespace {

constexpr size_t kBatch = 1024;  // entries invalidated before waiting for the FORGETs
constexpr auto kForgetWait = std::chrono::milliseconds(20);
constexpr int kIdleRounds = 3;  // rounds without a FORGET: what is left is in use
// After giving up on in-use entries, insertions past the mark do not restart the sweep at once.
constexpr auto kBackoff = std::chrono::seconds(1);

}  // namespace

NodeBudget node_budget(size_t max_nodes, size_t open_files) {
  // The quarter above the high mark absorbs the lookups that arrive while the kernel works
  // through the invalidations; the half below the low mark leaves room for the next burst.
  size_t limit = std::min(max_nodes, open_files);
  return NodeBudget{limit - limit / 4, limit / 2};
}

NodeReclaimer::NodeReclaimer(Session& session, NodeTable& nodes, NodeBudget budget)
    : session_(session), nodes_(nodes), budget_(budget) {
  nodes_.on_pressure(budget_.high, [this] {
    // Called with the table's lock held, from a request: only flag and wake.
    std::lock_guard lock(mutex_);
    pressure_ = true;
    wake_.notify_one();
  });
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

NodeReclaimer::~NodeReclaimer() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  nodes_.on_pressure(SIZE_MAX, [] {});
}

// The table's pressure callback takes mutex_ under the table's lock, so mutex_ is never held
// while calling into the table.
void NodeReclaimer::pause(const std::stop_token& stop, std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, stop, how_long, [] { return false; });
}

void NodeReclaimer::run(const std::stop_token& stop) {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (!wake_.wait(lock, stop, [this] { return pressure_; })) return;
    }
    if (!shrink(stop)) pause(stop, kBackoff);
    std::lock_guard lock(mutex_);
    pressure_ = false;
  }
}

bool NodeReclaimer::shrink(const std::stop_token& stop) {
  size_t before = nodes_.size();
  spdlog::info("node table at {} nodes (budget {}): asking the kernel to forget the oldest", before,
               budget_.high);
  int idle = 0;
  while (!stop.stop_requested() && idle < kIdleRounds) {
    size_t now = nodes_.size();
    if (now < budget_.low) break;
    uint64_t released = nodes_.released();
    for (const auto& [parent, name] : nodes_.sweep(std::min(now - budget_.low + 1, kBatch))) {
      // ENOENT: the kernel already dropped it, or knows it under another name; nothing to do.
      (void)session_.invalidate_entry(parent, name);
    }
    pause(stop, kForgetWait);
    idle = nodes_.released() > released ? 0 : idle + 1;
  }
  size_t after = nodes_.size();
  if (after >= budget_.low) {
    spdlog::warn("node table at {} nodes (budget {}): the rest is in use", after, budget_.high);
    return false;
  }
  spdlog::info("node table down to {} nodes (was {})", after, before);
  return true;
}

}  // namespace confinefs::fuse
