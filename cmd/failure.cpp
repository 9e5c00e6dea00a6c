#include "cmd/failure.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>

namespace confinefs::cmd {

std::string with_errno(const std::string& what, int code) {
  return what + ": " + std::strerror(code);
}

int report(const Failure& failure) {
  if (failure.exit == Exit::kUsage) {
    std::fprintf(stderr, "confinefs: %s\n", failure.message.c_str());
  } else {
    spdlog::error("{}", failure.message);
  }
  return static_cast<int>(failure.exit);
}

}  // namespace confinefs::cmd
