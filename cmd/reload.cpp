#include "cmd/reload.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fusefs/fd.h"
#include "fusefs/sys/syscalls.h"

namespace confinefs::cmd {
namespace {

std::atomic<int> g_hangup_pipe{-1};  // write end, read by the signal handler only

void on_hangup(int) {
  int saved = errno;
  char byte = 1;
  int fd = g_hangup_pipe.load();
  if (fd >= 0) [[maybe_unused]]
    auto n = ::write(fd, &byte, 1);
  errno = saved;
}

struct State {
  Fd read_end, write_end;
  Fd stop_read, stop_write;
  std::thread worker;
};
State* g_state = nullptr;

}  // namespace

ReloadOnHangup::ReloadOnHangup(std::function<void()> reload) {
  auto hup = sys::pipe(O_CLOEXEC | O_NONBLOCK);
  if (!hup) return;
  auto stop = sys::pipe(O_CLOEXEC);
  if (!stop) return;
  g_state = new State{std::move(hup->read),
                      std::move(hup->write),
                      std::move(stop->read),
                      std::move(stop->write),
                      {}};
  g_hangup_pipe = g_state->write_end.get();
  // The reload thread must not take SIGINT/SIGTERM (libfuse's loop thread waits for those).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  g_state->worker = std::thread([reload = std::move(reload)] {
    pollfd fds[2] = {{g_state->read_end.get(), POLLIN, 0}, {g_state->stop_read.get(), POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      char buf[64];
      while (::read(g_state->read_end.get(), buf, sizeof buf) > 0) {
      }
      reload();
    }
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_hangup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  installed_ = ::sigaction(SIGHUP, &sa, nullptr) == 0;
}

ReloadOnHangup::~ReloadOnHangup() {
  if (g_state == nullptr) return;
  ::signal(SIGHUP, SIG_IGN);
  g_hangup_pipe = -1;
  char byte = 1;
  [[maybe_unused]] auto n = ::write(g_state->stop_write.get(), &byte, 1);
  g_state->worker.join();
  delete g_state;
  g_state = nullptr;
}

}  // namespace confinefs::cmd
