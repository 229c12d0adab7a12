#include "pyfold/collapse/austin.hpp"

#include <charconv>

#include "pyfold/frame_text.hpp"
#include "pyfold/line_reader.hpp"

namespace pyfold::collapse {
namespace {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "P<digits>;T"
bool is_sample_start(std::string_view line) {
  if (line.size() < 4 || line[0] != 'P') return false;
  std::size_t p = 1;
  while (p < line.size() && is_digit(line[p])) ++p;
  return p > 1 && line.substr(p, 2) == ";T";
}

// The metric: an integer, or the first of "time,idle,memory" (full mode).
bool parse_metric(std::string_view text, long long& value) {
  std::size_t comma = text.find(',');
  std::string_view first = text.substr(0, comma);
  if (first.empty()) return false;
  auto [ptr, ec] = std::from_chars(first.data(), first.data() + first.size(), value);
  return ec == std::errc() && ptr == first.data() + first.size();
}

}  // namespace

Applicable austin_applicable(std::string_view head) {
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.substr(0, 9) == "# austin:") return Applicable::yes;
    if (nl == std::string_view::npos) return line.size() < 4 ? Applicable::need_more : (is_sample_start(line) ? Applicable::yes : Applicable::no);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    return is_sample_start(line) ? Applicable::yes : Applicable::no;
  }
  return Applicable::need_more;
}

std::vector<std::string> collapse_austin(InputSource& input, const AustinOptions& options, StackSink& sink,
                                         InvalidLineLog& invalid) {
  LineReader reader(input);
  std::string_view line;
  std::string stack;
  std::uint64_t invalid_frames = 0, negative = 0;
  while (reader.next(line)) {
    if (line.empty() || line[0] == '#') continue;  // "# austin: 3.6", "# mode: wall", "# duration: ..."
    std::size_t space = line.rfind(' ');
    long long metric = 0;
    if (space == std::string_view::npos || !parse_metric(line.substr(space + 1), metric)) {
      invalid.record(reader.source_name(), reader.line_number(), "no metric after the last space");
      continue;
    }
    if (!is_sample_start(line)) {
      invalid.record(reader.source_name(), reader.line_number(), "a sample starts P<pid>;T<thread>");
      continue;
    }
    std::string_view frames = line.substr(0, space);
    stack.clear();
    bool bad = false, had_invalid = false;
    std::size_t pos = 0;
    int field = 0;
    while (pos <= frames.size()) {
      std::size_t semi = frames.find(';', pos);
      std::string_view frame = frames.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
      pos = semi == std::string_view::npos ? frames.size() + 1 : semi + 1;
      int kind = field++;
      if (kind == 0 || kind == 1) {  // P<pid>, T<iid>:<tid> (austin 3.4: T<tid>)
        if (options.threads) {
          if (!stack.empty()) stack += ';';
          stack += kind == 0 ? "process " : "thread ";
          append_sanitized(stack, frame.substr(1));
        }
        continue;
      }
      if (frame.empty()) continue;
      if (frame == ":INVALID:") {  // austin could not read this frame
        had_invalid = true;
        continue;
      }
      // file:function:line, split from the right: file names hold ':' (C:\..., <frozen ...>).
      std::size_t line_colon = frame.rfind(':');
      std::size_t name_colon = line_colon == std::string_view::npos || line_colon == 0
                                   ? std::string_view::npos
                                   : frame.rfind(':', line_colon - 1);
      if (name_colon == std::string_view::npos) {
        invalid.record(reader.source_name(), reader.line_number(), "a frame is not file:function:line");
        bad = true;
        break;
      }
      std::string_view file = frame.substr(0, name_colon);
      std::string_view function = frame.substr(name_colon + 1, line_colon - name_colon - 1);
      std::string_view number = frame.substr(line_colon + 1);
      long line_number = 0;
      if (!number.empty()) {
        auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), line_number);
        if (ec != std::errc() || ptr != number.data() + number.size()) {
          invalid.record(reader.source_name(), reader.line_number(), "a frame's line number is not a number");
          bad = true;
          break;
        }
      }
      if (!stack.empty()) stack += ';';
      if (file.empty() && number.empty()) {  // :GC: and other markers
        stack += '[';
        append_sanitized(stack, function);
        stack += ']';
      } else {
        append_frame_text(stack, function, file, line_number);
      }
    }
    if (bad) continue;
    if (had_invalid) ++invalid_frames;
    if (metric < 0) ++negative;
    if (metric <= 0) continue;  // idle, or memory released: nothing to draw
    if (stack.empty()) stack = "[no frames]";
    sink.add(stack, static_cast<double>(metric));
  }
  std::vector<std::string> warnings;
  if (invalid_frames > 0)
    warnings.push_back("austin: dropped :INVALID: frames from " + std::to_string(invalid_frames) +
                       (invalid_frames == 1 ? " sample" : " samples"));
  if (negative > 0)
    warnings.push_back("austin: skipped " + std::to_string(negative) +
                       " samples with a negative metric (memory released)");
  return warnings;
}

}  // namespace pyfold::collapse
