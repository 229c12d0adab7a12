#include "pyfold/collapse/folded_input.hpp"

#include "pyfold/folded.hpp"
#include "pyfold/line_reader.hpp"

namespace pyfold::collapse {
namespace {

// Frames joined by one ';' each: empty frames (";;", a leading or trailing ';') dropped.
void normalise(std::string_view stack, std::string& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= stack.size()) {
    std::size_t semi = stack.find(';', pos);
    std::size_t end = semi == std::string_view::npos ? stack.size() : semi;
    if (end > pos) {
      if (!out.empty()) out += ';';
      out.append(stack.data() + pos, end - pos);
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
}

}  // namespace

Applicable folded_applicable(std::string_view head, bool whole_input) {
  // The first line that is not blank or a comment decides: one invalid line further on is the input's fault
  // (counted as usual), not a sign of another format.
  std::size_t pos = 0;
  FoldedLine parsed;
  std::string_view reason;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos && !whole_input) break;
    std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? head.size() : nl + 1;
    switch (parse_folded_line(line, parsed, reason)) {
      case LineStatus::skip: continue;
      case LineStatus::invalid: return Applicable::no;
      case LineStatus::stack: return parsed.differential ? Applicable::no : Applicable::yes;
    }
  }
  return whole_input ? Applicable::no : Applicable::need_more;
}

std::vector<std::string> collapse_folded(InputSource& input, StackSink& sink, InvalidLineLog& invalid) {
  LineReader reader(input);
  std::string_view line, reason;
  FoldedLine parsed;
  std::string stack;
  while (reader.next(line)) {
    switch (parse_folded_line(line, parsed, reason)) {
      case LineStatus::skip: continue;
      case LineStatus::invalid:
        invalid.record(reader.source_name(), reader.line_number(), reason);
        continue;
      case LineStatus::stack: break;
    }
    if (parsed.differential) {
      invalid.record(reader.source_name(), reader.line_number(),
                     "a differential line (two counts): pyfold collapse reads one count");
      continue;
    }
    normalise(parsed.stack, stack);
    if (stack.empty()) {
      invalid.record(reader.source_name(), reader.line_number(), "no frames before the count");
      continue;
    }
    if (parsed.count > 0) sink.add(stack, parsed.count);
  }
  return {};
}

}  // namespace pyfold::collapse
