// Logging set-up: spdlog to stderr, levelled; no timestamps under systemd (the journal has them).
#pragma once

#include <string>

namespace confinefs::cmd {

// Returns false when level is not a known spdlog level name.
bool setup_logging(const std::string& level);

}  // namespace confinefs::cmd
