#include "cmd/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace confinefs::cmd {

Phase<> setup_logging(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Failure::usage("unknown log level " + level);
  }
  auto logger = spdlog::stderr_logger_mt("confinefs");
  spdlog::set_default_logger(logger);
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    spdlog::set_pattern("<%l> %v");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e confinefs[%P] %l: %v");
  }
  spdlog::set_level(lvl);
  spdlog::flush_on(spdlog::level::warn);
  return {};
}

}  // namespace confinefs::cmd
