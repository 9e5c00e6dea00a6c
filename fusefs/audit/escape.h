// Names from the client or the backing directory are hostile (threat 16): escape them before
// they reach a log line, so a crafted name cannot forge log entries or terminal sequences.
#pragma once

#include <string>
#include <string_view>

namespace confinefs::audit {

std::string escape_for_log(std::string_view s);

}  // namespace confinefs::audit
