#include "pyfold/frame_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace pyfold {

namespace {

// The start of the " (" that opens the location of text, or npos (see the rule in frame_text.hpp). One pass from
// the left: a " (" at parenthesis depth 0 is a candidate (the name before it is balanced), and the last one wins.
std::size_t location_open(std::string_view text) {
  if (text.size() < 5 || text.back() != ')') return std::string_view::npos;  // at least "f (x)"
  const char* data = text.data();
  const std::size_t end = text.size() - 1;
  // From one parenthesis to the next (memchr: frames hold few of them, and the bytes between are many).
  auto next = [&](char c, std::size_t from) {
    const void* at = from < end ? std::memchr(data + from, c, end - from) : nullptr;
    return at == nullptr ? end : static_cast<std::size_t>(static_cast<const char*>(at) - data);
  };
  std::size_t open = std::string_view::npos;
  std::size_t depth = 0;
  std::size_t next_open = next('(', 0), next_close = next(')', 0);
  while (next_open < end || next_close < end) {
    if (next_open < next_close) {
      std::size_t i = next_open;
      if (depth == 0 && i >= 2 && data[i - 1] == ' ') open = i - 1;
      ++depth;
      next_open = next('(', i + 1);
    } else {
      if (depth > 0) --depth;
      next_close = next(')', next_close + 1);
    }
  }
  if (open != std::string_view::npos && open + 3 > end) return std::string_view::npos;  // "f ()": empty location
  return open;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void append_line(std::string& out, std::uint64_t line) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, line);
  out.push_back(':');
  out.append(digits, result.ptr);
}

bool is_sep(char c) { return c == '/' || c == '\\'; }

// A standard library directory: (^|/)(lib|lib64|Lib)/(pythonX[.Y][t]|pypy[X][.Y])/
bool has_stdlib_dir(std::string_view file) {
  for (std::size_t i = 0; i < file.size(); ++i) {
    if (i > 0 && !is_sep(file[i - 1])) continue;
    std::string_view rest = file.substr(i);
    std::size_t len = rest.rfind("lib64", 0) == 0 ? 5 : (rest.rfind("lib", 0) == 0 || rest.rfind("Lib", 0) == 0) ? 3 : 0;
    if (len == 0 || len >= rest.size() || !is_sep(rest[len])) continue;
    std::string_view dir = rest.substr(len + 1);
    std::size_t p;
    if (dir.rfind("python", 0) == 0) {
      p = 6;
      if (p >= dir.size() || !std::isdigit(static_cast<unsigned char>(dir[p]))) continue;
      ++p;
    } else if (dir.rfind("pypy", 0) == 0) {
      p = 4;
      if (p < dir.size() && std::isdigit(static_cast<unsigned char>(dir[p]))) ++p;
    } else {
      continue;
    }
    if (p < dir.size() && dir[p] == '.') {
      std::size_t q = p + 1;
      while (q < dir.size() && std::isdigit(static_cast<unsigned char>(dir[q]))) ++q;
      if (q == p + 1) continue;
      p = q;
    }
    if (p < dir.size() && dir[p] == 't') ++p;  // free-threaded builds: python3.13t
    if (p < dir.size() && is_sep(dir[p])) return true;
  }
  return false;
}

// CPython's C API and internals: Py_RunMain, PyObject_Call, _PyEval_EvalFrameDefault, _Py_Dealloc.
bool is_interpreter_function(std::string_view name) {
  if (!name.empty() && name[0] == '_') name.remove_prefix(1);
  return name.size() > 2 && name.substr(0, 2) == "Py" && (name[2] == '_' || (name[2] >= 'A' && name[2] <= 'Z'));
}

// The interpreter's own module, as pyfold record --native names modules (the file's name): libpython3.11.so.1.0,
// or the python executable (python3.11, python3.13t, python3.12d) when CPython is built into it.
bool is_interpreter_module(std::string_view module) {
  std::size_t slash = module.find_last_of("/\\");
  if (slash != std::string_view::npos) module.remove_prefix(slash + 1);
  if (module.rfind("libpython", 0) == 0) return true;
  if (module.rfind("python", 0) != 0) return false;
  std::string_view rest = module.substr(6);
  if (ends_with(rest, ".exe")) rest.remove_suffix(4);
  return rest.find_first_not_of("0123456789.dmut") == std::string_view::npos;
}


}  // namespace

FrameParts parse_frame_text(std::string_view text) {
  FrameParts parts;
  parts.function = text;
  std::size_t open = location_open(text);
  if (open == std::string_view::npos) return parts;
  parts.function = text.substr(0, open);
  std::string_view inside = text.substr(open + 2, text.size() - open - 3);
  std::size_t colon = inside.rfind(':');
  if (colon != std::string_view::npos && colon > 0 && inside.size() - colon - 1 <= 18 &&
      all_digits(inside.substr(colon + 1))) {
    parts.line_text = inside.substr(colon + 1);
    std::from_chars(parts.line_text.data(), parts.line_text.data() + parts.line_text.size(), parts.line);
    inside = inside.substr(0, colon);
  }
  parts.file = inside;
  return parts;
}

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
  if (line > 0) append_line(out, static_cast<std::uint64_t>(line));
  out.push_back(')');
}

void append_frame_parts(std::string& out, std::string_view function, std::string_view file, std::uint64_t line) {
  out.append(function);
  if (file.empty()) return;
  out += " (";
  out.append(file);
  if (line > 0) append_line(out, line);
  out.push_back(')');
}

bool is_process_frame(std::string_view frame) {
  // process PID:"cmdline"
  if (frame.substr(0, 8) != "process ") return false;
  std::size_t colon = frame.find(':', 8);
  return colon != std::string_view::npos && all_digits(frame.substr(8, colon - 8)) && colon + 1 < frame.size() &&
         frame[colon + 1] == '"' && frame.back() == '"';
}

bool is_thread_frame(std::string_view frame) {
  // thread (TID), thread (TID): NAME, thread (0xID), thread (0xID): NAME
  if (frame.substr(0, 8) != "thread (") return false;
  std::size_t close = frame.find(')', 8);
  if (close == std::string_view::npos || close == 8) return false;
  std::string_view id = frame.substr(8, close - 8);
  if (id.size() > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X')) {
    if (!std::all_of(id.begin() + 2, id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      return false;
  } else if (!all_digits(id)) {
    return false;
  }
  return close + 1 == frame.size() || frame.substr(close + 1, 2) == ": ";
}

bool is_task_frame(std::string_view frame) { return frame.size() > 7 && frame.substr(0, 7) == "<task> "; }

CodeOrigin classify_python_frame(std::string_view frame) {
  FrameParts parts = parse_frame_text(frame);
  std::string_view name = parts.function;
  if (!name.empty() && name[0] == '[') return CodeOrigin::no_file;  // [native stack cut short], [unknown]
  if (!parts.has_location()) return is_interpreter_function(name) ? CodeOrigin::interpreter : CodeOrigin::no_file;
  std::string_view path = parts.file;
  if (path[0] == '<') return CodeOrigin::no_file;  // <frozen …>, <string>, <built-in>
  // Native code (pyfold record --native: `deflate (libz.so.1)`, `python3.11+0x1a2b (python3.11)`): the
  // interpreter's own, or any other library's.
  if (!parts.has_line() && !ends_with(path, ".py") && !ends_with(path, ".pyw")) {
    if (is_interpreter_module(path)) return CodeOrigin::interpreter;
    if (path[0] == '[') return CodeOrigin::native_library;  // [vdso: PID], [unknown]
  }
  for (std::string_view native : {".so", ".dll", ".dylib", ".pyd"}) {
    std::size_t at = path.rfind(native);
    if (at != std::string_view::npos &&
        (at + native.size() == path.size() || path[at + native.size()] == '.'))  // libfoo.so.1
      return is_interpreter_module(path) ? CodeOrigin::interpreter : CodeOrigin::native_library;
  }
  if (contains(path, "/site-packages/") || contains(path, "/dist-packages/") || contains(path, "\\site-packages\\") ||
      contains(path, "\\dist-packages\\") || contains(path, ".egg/"))
    return CodeOrigin::site_packages;
  // Windows keeps the standard library in C:\Python311\Lib
  if (has_stdlib_dir(path) || contains(path, "\\Lib\\")) return CodeOrigin::stdlib;
  return CodeOrigin::user;
}

}  // namespace pyfold
