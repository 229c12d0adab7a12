#pragma once
// The text of one frame in a folded line, as pyfold and py-spy write it: `func (file:line)`, `func (file)` without a
// line, `func` without a file. Written and read in this one place for every stage (recorder, collapsers, renderers).
//
// The reading rule: the location is the parenthesised group that ends the text, opened by the LAST " (" that
// leaves the name before it with balanced parentheses. Python names never hold " (", but C++ names of native
// frames do (`std::function<void (int)>::operator() (libfoo.so)`), and paths may (`f (/srv/my app (copy)/m.py:3)`):
// the first " (" misreads the one, the last " (" the other; the balance reads both. Only a path holding an
// unmatched ") (" is still misread. Text that does not end with ')' (a flamegraph.pl annotation such as
// `schedule_[k]`, `thread (12): MainThread`) has no location; neither has an empty name or an empty location.
// The line is the digits after the location's last ':' (1 to 18 of them, after a non-empty file).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pyfold {

// A frame's text split into its parts (views into the text). Without a location, function is the whole text.
struct FrameParts {
  std::string_view function;
  std::string_view file;       // empty without a location
  std::string_view line_text;  // the line's digits; empty without a line
  std::uint64_t line = 0;      // 0 without a line
  bool has_location() const { return !file.empty(); }
  bool has_line() const { return !line_text.empty(); }
};
FrameParts parse_frame_text(std::string_view text);

// Appends the frame text to out. Characters that would break a folded line are replaced: ';' (the frame separator)
// by ':', and CR, LF and other C0 control characters by a space.
void append_frame_text(std::string& out, std::string_view function, std::string_view file, long line);

inline std::string frame_text(std::string_view function, std::string_view file, long line) {
  std::string out;
  append_frame_text(out, function, file, line);
  return out;
}

// Appends parts that came from frame text (already safe), unchanged: `function (file:line)`, `function (file)`
// (line 0), `function` (no file).
void append_frame_parts(std::string& out, std::string_view function, std::string_view file, std::uint64_t line);

// Appends text with the same replacements (for a frame written some other way, such as a thread's root frame).
void append_sanitized(std::string& out, std::string_view text);

// The recorder's root frames (pyfold record --subprocesses / --threads, py-spy -s / -t):
// `process PID:"cmdline"` and `thread (TID): NAME` / `thread (0xID)`.
bool is_process_frame(std::string_view frame);
bool is_thread_frame(std::string_view frame);
// `<task> NAME`: the root task of pyfold record --async (after any process and thread roots).
bool is_task_frame(std::string_view frame);

// Where a frame's code lives. interpreter: CPython's own C code (libpython3.11.so, the python executable, or a bare
// Py*/_Py* name); native_library: any other native module (libz.so.1, an extension's .so); no_file: built-ins,
// <frozen …>, and other frames without a file.
enum class CodeOrigin { user, stdlib, site_packages, interpreter, native_library, no_file };
CodeOrigin classify_python_frame(std::string_view frame);

}  // namespace pyfold
