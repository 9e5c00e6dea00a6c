// Names the mount keeps for itself: a checked rename parks an entry under one (ops/names.cpp)
// while it is checked. They are never shown, looked up, made or listed through the mount
// (ops/, guards/current_name.cpp), so no client sees an entry in that state.
#pragma once

#include <string_view>

namespace confinefs {
inline namespace mount {

constexpr std::string_view kMovingPrefix = ".confinefs-move-";
inline bool is_parking_name(std::string_view name) {
  return name.substr(0, kMovingPrefix.size()) == kMovingPrefix;
}

}  // namespace mount
}  // namespace confinefs
