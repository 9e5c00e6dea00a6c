// resume=on: SIGTERM and SIGINT hand the mount over to the next daemon instead of ending it.
// The daemon stops taking requests, answers every request it took (fuse/request_drain.h), and
// exits 0 leaving the mount and its stored state (cmd/takeover.h) in the supervisor's fd store:
// requests the kernel queues meanwhile wait for the next daemon, so none is lost or answered
// twice. Whether a next daemon comes is the supervisor's decision (docs/deployment.md).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "fusefs/fuse/request_drain.h"
#include "fusefs/result.h"

namespace confinefs::cmd {

class HandOver {
 public:
  // Installs the handlers (replacing libfuse's) and starts the thread that does the hand-over.
  // Call after confinement, on the only thread, before serving.
  static Result<std::unique_ptr<HandOver>> start(fuse::RequestDrain& drain, std::string line);
  ~HandOver();
  HandOver(const HandOver&) = delete;
  HandOver& operator=(const HandOver&) = delete;

 private:
  HandOver() = default;
  std::thread thread_;
};

}  // namespace confinefs::cmd
