// Internal to ir/: reading the text lines of ir/schemas_generated.inc (format in
// tools/gen_schemas.py). Shared by schema.cc (schemas) and function_body.cc (function bodies).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::ir::schema_text {

/// The generated kFunctionLines array.
std::span<const char* const> function_lines();

/// Fields separated by `sep`; always at least one (possibly empty) field.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return 0;
}

/// Undoes the generator's %XX escapes.
inline std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// ','-separated escaped items; "" is no items.
inline std::vector<std::string> split_items(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (std::string_view item : split(s, ',')) out.push_back(unescape(item));
  return out;
}

inline int64_t to_int64(std::string_view s) { return std::strtoll(std::string(s).c_str(), nullptr, 10); }
inline int to_int(std::string_view s) { return static_cast<int>(to_int64(s)); }

}  // namespace ferry::ir::schema_text
