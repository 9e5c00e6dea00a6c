// Logging set-up: spdlog to stderr, levelled; no timestamps under systemd (the journal has them).
#pragma once

#include <string>

#include "cmd/failure.h"

namespace confinefs::cmd {

// A level that is not a known spdlog level name is a usage Failure.
Phase<> setup_logging(const std::string& level);

}  // namespace confinefs::cmd
