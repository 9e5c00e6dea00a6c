// SIGHUP: reload the tenant policy. libfuse's default handler would end the session on SIGHUP,
// so this handler is installed before libfuse's (which then leaves SIGHUP alone). The signal
// handler only writes to a pipe; a thread does the reload outside signal context.
#pragma once

#include <functional>

namespace confinefs::cmd {

class ReloadOnHangup {
 public:
  explicit ReloadOnHangup(std::function<void()> reload);
  ~ReloadOnHangup();
  ReloadOnHangup(const ReloadOnHangup&) = delete;
  ReloadOnHangup& operator=(const ReloadOnHangup&) = delete;
  bool installed() const noexcept { return installed_; }

 private:
  bool installed_ = false;
};

}  // namespace confinefs::cmd
