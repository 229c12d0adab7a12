#include "pyfold/collapse/operations.hpp"

#include <algorithm>
#include <stdexcept>

#include "pyfold/folded.hpp"
#include "pyfold/frame_text.hpp"

namespace pyfold::collapse {

void StackTable::add(std::string_view stack, double count) {
  const StringTable::Id text = texts_.intern(stack);
  total_ += count;
  if (adjacent_only_) {
    if (!entry_text_.empty() && entry_text_.back() == text) {
      counts_.back() += count;
    } else {
      entry_text_.push_back(text);
      counts_.push_back(count);
    }
  } else if (text < counts_.size()) {
    counts_[text] += count;
  } else {
    counts_.push_back(count);  // a new text: its id is the next entry's index
  }
}

std::vector<std::size_t> StackTable::sorted_order() const {
  std::vector<std::size_t> order(size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return stack(a) < stack(b); });
  return order;
}

namespace {

std::regex compile(const std::string& pattern, const char* option) {
  try {
    return std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument(std::string(option) + " '" + pattern + "': not a valid regular expression (" +
                                e.what() + ")");
  }
}

template <typename F>
void for_each_frame(std::string_view stack, F&& f) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t semi = stack.find(';', pos);
    if (!f(stack.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos), pos)) return;
    if (semi == std::string_view::npos) return;
    pos = semi + 1;
  }
}

bool any_frame_matches(std::string_view stack, const std::regex& re) {
  bool found = false;
  for_each_frame(stack, [&](std::string_view frame, std::size_t) {
    found = std::regex_search(frame.begin(), frame.end(), re);
    return !found;
  });
  return found;
}

}  // namespace

std::string strip_line(std::string_view frame) {
  FrameParts parts = parse_frame_text(frame);
  if (!parts.has_line()) return std::string(frame);
  std::string out;
  append_frame_parts(out, parts.function, parts.file, 0);
  return out;
}

void append_strip_dirs(std::string& out, std::string_view frame) {
  FrameParts parts = parse_frame_text(frame);
  std::string_view file = parts.file;
  if (file.empty() || file[0] == '<') {  // no file, or <frozen importlib._bootstrap>, <string>: no directory to strip
    out.append(frame);
    return;
  }
  std::size_t slash = file.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? file : file.substr(slash + 1);
  // The text around the file as it was (a line of 0, or of leading zeros, is kept as written).
  out.append(frame.substr(0, static_cast<std::size_t>(file.data() - frame.data())));
  out.append(base);
  out.append(frame.substr(static_cast<std::size_t>(file.data() + file.size() - frame.data())));
}

bool is_library_frame(std::string_view frame) {
  CodeOrigin origin = classify_python_frame(frame);
  if (origin == CodeOrigin::stdlib || origin == CodeOrigin::site_packages) return true;
  return parse_frame_text(frame).file.substr(0, 8) == "<frozen ";  // importlib and friends, frozen into the binary
}

StackTransform::StackTransform(const StackOperations& operations) : ops_(operations) {
  for (const auto& p : ops_.include) include_.push_back(compile(p, "--include"));
  for (const auto& p : ops_.exclude) exclude_.push_back(compile(p, "--exclude"));
  if (!ops_.focus.empty()) focus_ = std::make_unique<std::regex>(compile(ops_.focus, "--focus"));
  identity_ = !ops_.strip_lines && !ops_.strip_dirs && !ops_.hide_libraries && include_.empty() && exclude_.empty() &&
              !focus_;
}

bool StackTransform::apply(std::string_view stack, std::string& out) const {
  out.clear();
  if (!include_.empty()) {
    bool kept = false;
    for (const auto& re : include_) {
      if (any_frame_matches(stack, re)) {
        kept = true;
        break;
      }
    }
    if (!kept) return false;
  }
  for (const auto& re : exclude_) {
    if (any_frame_matches(stack, re)) return false;
  }
  if (focus_) {
    std::size_t start = std::string_view::npos;
    for_each_frame(stack, [&](std::string_view frame, std::size_t pos) {
      if (std::regex_search(frame.begin(), frame.end(), *focus_)) {
        start = pos;
        return false;
      }
      return true;
    });
    if (start == std::string_view::npos) return false;
    stack = stack.substr(start);
  }
  bool in_library = false;
  for_each_frame(stack, [&](std::string_view frame, std::size_t) {
    if (ops_.hide_libraries) {
      bool library = is_library_frame(frame);
      if (library && in_library) return true;  // one [library] frame for the whole run
      in_library = library;
      if (library) {
        if (!out.empty()) out += ';';
        out += "[library]";
        return true;
      }
    }
    if (!out.empty()) out += ';';
    std::string_view f = frame;
    std::string scratch;
    if (ops_.strip_lines) {
      scratch = strip_line(f);
      f = scratch;
    }
    if (ops_.strip_dirs) {
      append_strip_dirs(out, f);
    } else {
      out.append(f);
    }
    return true;
  });
  return !out.empty();
}

StackTable transform_table(const StackTable& in, const StackTransform& transform) {
  StackTable out(in.adjacent_only());
  std::string rewritten;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (transform.apply(in.stack(i), rewritten)) out.add(rewritten, in.count(i));
  }
  return out;
}

void write_folded(const StackTable& table, bool sorted, OutputSink& out) {
  std::string line;
  auto write_one = [&](std::size_t i) {
    line.clear();
    append_folded_line(line, table.stack(i), table.count(i));
    out.write(line);
  };
  if (sorted) {
    for (std::size_t i : table.sorted_order()) write_one(i);
  } else {
    for (std::size_t i = 0; i < table.size(); ++i) write_one(i);
  }
}

}  // namespace pyfold::collapse
