#pragma once
// The text of one Python frame in a folded line, as py-spy writes it: `func (file:line)`, `func (file)` without a
// line (line <= 0), `func` without a file. Written in this one place for every stage (recorder, collapsers).
#include <string>
#include <string_view>

namespace pyfold {

// Appends the frame text to out. Characters that would break a folded line are replaced: ';' (the frame separator)
// by ':', and CR, LF and other C0 control characters by a space.
void append_frame_text(std::string& out, std::string_view function, std::string_view file, long line);

inline std::string frame_text(std::string_view function, std::string_view file, long line) {
  std::string out;
  append_frame_text(out, function, file, line);
  return out;
}

// Appends text with the same replacements (for a frame written some other way, such as a thread's root frame).
void append_sanitized(std::string& out, std::string_view text);

}  // namespace pyfold
