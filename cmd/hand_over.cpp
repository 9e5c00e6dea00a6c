#include "cmd/hand_over.h"

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>

#include "cmd/notify.h"

namespace confinefs::cmd {
namespace {

fuse::RequestDrain* g_drain = nullptr;  // set once, before the handlers are installed

void on_stop_signal(int) { g_drain->begin(); }

}  // namespace

Result<std::unique_ptr<HandOver>> HandOver::start(fuse::RequestDrain& drain, std::string line) {
  g_drain = &drain;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGTERM, &sa, nullptr) != 0 || ::sigaction(SIGINT, &sa, nullptr) != 0) {
    return last_error();
  }
  std::unique_ptr<HandOver> h(new HandOver());
  h->thread_ = std::thread([&drain, line = std::move(line)] {
    drain.wait_begun();
    auto started = std::chrono::steady_clock::now();
    bool idle = drain.wait_idle(std::chrono::seconds(10));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    notify_stopping("handing over: " + line);
    if (idle) {
      spdlog::info(
          "handed over after {} ms: every request taken was answered; the mount stays "
          "for the next daemon",
          took.count());
    } else {
      spdlog::warn("handing over: requests still unanswered after {} ms; the kernel fails them",
                   took.count());
    }
    spdlog::default_logger()->flush();
    // Not libfuse's shutdown: it would drop requests a worker read meanwhile.
    ::_exit(0);
  });
  return h;
}

HandOver::~HandOver() {
  if (thread_.joinable()) thread_.detach();  // it ends the process itself
}

}  // namespace confinefs::cmd
