#include "cmd/fd_store.h"

#include <fcntl.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>

namespace confinefs::cmd {

bool has_fd_store() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && socket[0] != '\0';
}

StoredState take_stored() {
  StoredState state;
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < n; ++i) {
    Fd fd(SD_LISTEN_FDS_START + i);
    ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
    std::string_view name = names != nullptr && names[i] != nullptr ? names[i] : "";
    if (name == kStoredChannel && !state.channel.valid()) {
      state.channel = std::move(fd);
    } else if (name == kStoredNodes && !state.nodes.valid()) {
      state.nodes = std::move(fd);
    } else if (name == kStoredInit && !state.init.valid()) {
      state.init = std::move(fd);
    } else if (name == kStoredObjects && !state.objects.valid()) {
      state.objects = std::move(fd);
    } else if (name == kStoredPassthrough && !state.passthrough.valid()) {
      state.passthrough = std::move(fd);
    } else if (name == kStoredRequests && !state.requests.valid()) {
      state.requests = std::move(fd);
    }  // anything else closes here
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return state;
}

Result<void> store(std::string_view name, FdRef fd) {
  std::string message = "FDSTORE=1\nFDNAME=" + std::string(name);
  int descriptor = fd.get();
  int rc = sd_pid_notify_with_fds(0, 0, message.c_str(), &descriptor, 1);
  if (rc < 0) return Error{-rc};
  if (rc == 0) return Error{ENOTCONN};
  return {};
}

Result<void> unstore(std::string_view name) {
  std::string message = "FDSTOREREMOVE=1\nFDNAME=" + std::string(name);
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) return Error{-rc};
  if (rc == 0) return Error{ENOTCONN};
  return {};
}

void unstore_all() {
  for (auto name : {kStoredChannel, kStoredNodes, kStoredInit, kStoredObjects, kStoredPassthrough,
                    kStoredRequests}) {
    (void)unstore(name);
  }
}

}  // namespace confinefs::cmd
