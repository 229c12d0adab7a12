#include "pyfold/frame_text.hpp"

#include <charconv>

namespace pyfold {

void append_sanitized(std::string& out, std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == ';') {
      out.push_back(':');
    } else if (byte < 0x20 || byte == 0x7f) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

void append_frame_text(std::string& out, std::string_view function, std::string_view file, long line) {
  append_sanitized(out, function);
  if (file.empty()) return;
  out += " (";
  append_sanitized(out, file);
  if (line > 0) {
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof digits, line);
    out.push_back(':');
    out.append(digits, result.ptr);
  }
  out.push_back(')');
}

}  // namespace pyfold
