// Reads this process's /proc/self/smaps, for tests that check how memory is mapped.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace ferry::test {

/// The rest of the line starting with `key` (e.g. "VmFlags:", "Rss:") in the smaps entry of the
/// mapping holding `p`; "" when no mapping holds `p` or its entry has no such line.
inline std::string smaps_field(const void* p, const std::string& key) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind(key, 0) == 0) {
      return line.substr(key.size());
    }
  }
  return "";
}

}  // namespace ferry::test
