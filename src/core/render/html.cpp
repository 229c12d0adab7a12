#include "pyfold/render/html.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "html_report_assets.hpp"  // generated: kReportJs, kReportCss
#include "pyfold/diagnostics.hpp"
#include "pyfold/folded.hpp"
#include "pyfold/frame_text.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/render/python_labels.hpp"
#include "pyfold/render/speedscope.hpp"  // split_frame, default_profile_name
#include "pyfold/text.hpp"

namespace pyfold {
namespace {


// Appends to a string and hands it to the sink in large pieces.
class Chunked {
 public:
  explicit Chunked(OutputSink& out) : out_(out) { text.reserve(kFlushAt + 4096); }
  void maybe_flush() {
    if (text.size() >= kFlushAt) flush();
  }
  void flush() {
    out_.write(text);
    text.clear();
  }
  std::string text;

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  OutputSink& out_;
};

// Unsigned LEB128 varints, base64-encoded as they are made (three bytes at a time), appended to a string.
class Base64Varints {
 public:
  explicit Base64Varints(std::string& out) : out_(out) {}
  void put(std::uint64_t v) {
    do {
      unsigned char byte = v & 0x7f;
      v >>= 7;
      if (v != 0) byte |= 0x80;
      pending_[used_++] = byte;
      if (used_ == 3) emit(3);
    } while (v != 0);
  }
  void flush_whole() {}  // the string only ever holds whole groups of three bytes
  void finish() {
    if (used_ > 0) emit(used_);
  }

 private:
  void emit(int n) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uint32_t group = (std::uint32_t{pending_[0]} << 16) | (n > 1 ? std::uint32_t{pending_[1]} << 8 : 0) |
                          (n > 2 ? std::uint32_t{pending_[2]} : 0);
    char text[4] = {kAlphabet[(group >> 18) & 63], kAlphabet[(group >> 12) & 63],
                    n > 1 ? kAlphabet[(group >> 6) & 63] : '=', n > 2 ? kAlphabet[group & 63] : '='};
    out_.append(text, 4);
    used_ = 0;
    pending_[0] = pending_[1] = pending_[2] = 0;
  }
  std::string& out_;
  unsigned char pending_[3] = {0, 0, 0};
  int used_ = 0;
};

// The file part of the short label pyflame-svg --python gives a frame of this file.
std::string short_path(const PythonLabels& labels, const std::string& path) {
  std::string text = frame_text("f", path, 1);
  std::string label = labels.label(text);
  FrameParts fields = split_frame(label);
  return fields.file.empty() ? path : std::string(fields.file);
}

std::string file_date(const std::vector<std::string>& inputs) {
  if (inputs.empty() || inputs[0] == "-") return "";
  struct stat info {};
  if (stat(inputs[0].c_str(), &info) != 0) return "";
  std::tm utc{};
  gmtime_r(&info.st_mtime, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

// The page's summary: title, name, date, options, the header's lines.
void write_summary(std::string& s, const ReportData& data, const HtmlPageInfo& info, const HtmlOptions& options) {
  s += "{\"version\":1,\"title\":";
  append_script_json_string(s, info.title);
  s += ",\"name\":";
  append_script_json_string(s, info.name);
  s += ",\"date\":";
  append_script_json_string(s, info.date);
  s += ",\"inverted\":";
  s += options.inverted ? "true" : "false";
  s += ",\"differential\":";
  s += data.differential ? "true" : "false";
  s += ",\"total\":";
  append_count(s, data.total);
  s += ",\"header\":[";
  for (std::size_t i = 0; i < info.header.size(); ++i) {
    if (i) s.push_back(',');
    s.push_back('[');
    append_script_json_string(s, info.header[i].first);
    s.push_back(',');
    append_script_json_string(s, info.header[i].second);
    s.push_back(']');
  }
}

// Each file with its source (hottest first, up to kMaxPageSourceBytes) or why it has none.
void write_files(Chunked& out, const ReportData& data, const HtmlOptions& options) {
  std::string& s = out.text;
  s += "],\n\"files\":[";
  PythonLabels labels;
  for (const ReportFile& file : data.files) labels.add(frame_text("f", file.path, 1));
  // Sources go in hottest file first until kMaxPageSourceBytes: a profile touching thousands of files still makes a
  // page a browser opens; the files past it are listed with their counts, as unreadable ones are.
  std::vector<std::size_t> by_heat(data.files.size());
  for (std::size_t i = 0; i < by_heat.size(); ++i) by_heat[i] = i;
  std::stable_sort(by_heat.begin(), by_heat.end(), [&](std::size_t a, std::size_t b) {
    return data.files[a].counts.total > data.files[b].counts.total;
  });
  std::vector<std::optional<SourceText>> texts(data.files.size());
  std::vector<std::string> whys(data.files.size(), "not read (--no-sources)");
  std::size_t source_bytes = 0;
  for (std::size_t i : by_heat) {
    if (!options.sources) break;
    if (source_bytes >= kMaxPageSourceBytes) {
      whys[i] = "left out: the page already holds " + std::to_string(kMaxPageSourceBytes >> 20) +
                " MiB of hotter files' sources";
      continue;
    }
    texts[i] = read_source(map_source_path(data.files[i].path, options.source_roots), whys[i]);
    if (texts[i])
      for (const std::string& line : texts[i]->lines) source_bytes += line.size() + 3;
  }
  for (std::size_t i = 0; i < data.files.size(); ++i) {
    const ReportFile& file = data.files[i];
    if (i) s.push_back(',');
    s += "\n{\"path\":";
    append_script_json_string(s, file.path);
    s += ",\"short\":";
    append_script_json_string(s, short_path(labels, file.path));
    const std::string& why = whys[i];
    std::optional<SourceText>& text = texts[i];
    if (text) {
      s += ",\"source\":[";
      for (std::size_t l = 0; l < text->lines.size(); ++l) {
        if (l) s.push_back(',');
        append_script_json_string(s, text->lines[l]);
        out.maybe_flush();
      }
      s += "]}";
    } else {
      s += ",\"source\":null,\"why\":";
      append_script_json_string(s, why);
      s += "}";
    }
    text.reset();
    out.maybe_flush();
  }
}

// The functions (name, file) and the frames (function and line of each frame id).
void write_functions_and_frames(Chunked& out, const ReportData& data) {
  std::string& s = out.text;
  s += "],\n\"functions\":[";
  for (std::size_t i = 0; i < data.functions.size(); ++i) {
    if (i) s.push_back(',');
    s.push_back('[');
    append_script_json_string(s, data.functions[i].name);
    s.push_back(',');
    s += std::to_string(data.functions[i].file);
    s.push_back(']');
    out.maybe_flush();
  }
  // frames: function and line of each frame id, two numbers each.
  s += "],\n\"frames\":[";
  for (std::size_t i = 0; i < data.frames.size(); ++i) {
    if (i) s.push_back(',');
    s += std::to_string(data.frames[i].function);
    s.push_back(',');
    s += std::to_string(data.frames[i].line);
    out.maybe_flush();
  }
}

void write_tree(Chunked& out, const StackTree& tree, const ReportData& data) {
  std::string& s = out.text;
  // tree: preorder, each node as frame id, number of children, total (and self delta when differential).
  // Integer counts (the usual case) go as varints in base64, which the page decodes many times faster than a JSON
  // array of numbers; fractional counts as a JSON array.
  bool integral = true;
  auto is_integral = [](double v) { return v == std::floor(v) && std::fabs(v) < kMaxCount; };
  integral = is_integral(tree.total(StackTree::kRoot));
  for (std::size_t k = 0; k < data.preorder.size() && integral; ++k)
    integral = is_integral(data.preorder[k].total) && (!data.differential || is_integral(data.deltas[k].self));
  auto self_delta = [&](std::size_t k) { return data.differential ? data.deltas[k].self : 0.0; };
  s += "],\n\"nodes\":";
  s += std::to_string(data.preorder.size() + 1);
  if (integral) {
    s += ",\n\"tree64\":\"";
    Base64Varints encoder(s);
    auto emit_node = [&](std::uint64_t frame, std::uint64_t children, double total, double delta) {
      encoder.put(frame);
      encoder.put(children);
      encoder.put(static_cast<std::uint64_t>(total));
      if (data.differential) {
        auto d = static_cast<std::int64_t>(delta);
        encoder.put(d < 0 ? (static_cast<std::uint64_t>(-(d + 1)) << 1) | 1 : static_cast<std::uint64_t>(d) << 1);
      }
    };
    emit_node(0, data.root_children, tree.total(StackTree::kRoot), tree.delta(StackTree::kRoot));
    for (std::size_t k = 0; k < data.preorder.size(); ++k) {
      const ReportData::Node& node = data.preorder[k];
      emit_node(std::uint64_t{node.name} + 1, node.children, node.total, self_delta(k));
      if (s.size() > (1 << 20)) {
        encoder.flush_whole();
        out.maybe_flush();
      }
    }
    encoder.finish();
    s += "\"}";
    out.flush();
    return;
  }
  s += ",\n\"tree\":[";
  auto emit_node = [&](std::string_view frame, std::uint32_t children, double total, double delta) {
    s += frame;
    s.push_back(',');
    s += std::to_string(children);
    s.push_back(',');
    append_count(s, total);
    if (data.differential) {
      s.push_back(',');
      append_count(s, delta);
    }
  };
  emit_node("-1", data.root_children, tree.total(StackTree::kRoot), tree.delta(StackTree::kRoot));
  for (std::size_t k = 0; k < data.preorder.size(); ++k) {
    const ReportData::Node& node = data.preorder[k];
    s.push_back(',');
    emit_node(std::to_string(node.name), node.children, node.total, self_delta(k));
    out.maybe_flush();
  }
  s += "]}";
  out.flush();
}

void write_data(const StackTree& tree, const ReportData& data, const HtmlPageInfo& info, const HtmlOptions& options,
                OutputSink& sink) {
  Chunked out(sink);
  write_summary(out.text, data, info, options);
  write_files(out, data, options);
  write_functions_and_frames(out, data);
  write_tree(out, tree, data);
}

// A sink that escapes nothing but refuses what would end the script element (the data is escaped already; this
// is the last guard).
class ScriptSafeSink final : public OutputSink {
 public:
  explicit ScriptSafeSink(OutputSink& to) : OutputSink(to.name()), to_(to) {}
  void commit() override { flush_buffer(); }

 protected:
  void write_through(const char* data, std::size_t n) override {
    if (std::memchr(data, '<', n) != nullptr) throw std::logic_error("unescaped '<' in the page's data");
    to_.write(std::string_view(data, n));
  }

 private:
  OutputSink& to_;
};

std::uint64_t read_input(const std::string& path, StackTree& tree, InvalidLineLog& invalid, ProfileHeader& header) {
  auto source = InputSource::open(path);
  if (path != "-") {
    // The header is at the top: read it from a second opening, then let the fast reader take the whole file.
    auto peek = InputSource::open(path);
    LineReader reader(*peek, 1 << 16);
    std::string_view line;
    std::string key, value;
    while (reader.next(line) && (line.empty() || line[0] == '#')) {
      if (parse_header_line(line, key, value)) header.emplace_back(key, value);
    }
    return read_folded(*source, tree, invalid);
  }
  // Standard input can be read once: line by line, headers and stacks together.
  LineReader reader(*source);
  std::string_view line, reason;
  std::string key, value;
  FoldedLine parsed;
  std::uint64_t stacks = 0;
  while (reader.next(line)) {
    LineStatus status = parse_folded_line(line, parsed, reason);
    if (status == LineStatus::skip) {
      if (parse_header_line(line, key, value)) header.emplace_back(key, value);
      continue;
    }
    if (status == LineStatus::invalid) {
      invalid.record(source->name(), reader.line_number(), reason);
      continue;
    }
    if (parsed.differential) {
      tree.add_differential(parsed.stack, parsed.count, parsed.count - parsed.before);
    } else {
      tree.add(parsed.stack, parsed.count);
    }
    ++stacks;
  }
  return stacks;
}

}  // namespace

bool parse_header_line(std::string_view line, std::string& key, std::string& value) {
  if (line.size() < 3 || line.substr(0, 2) != "# ") return false;
  std::string_view rest = line.substr(2);
  std::size_t colon = rest.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 40) return false;
  std::string_view k = rest.substr(0, colon);
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ' ')) return false;
  key.assign(k);
  value.assign(rest.substr(colon + 2));
  return true;
}

void write_html_data(const StackTree& tree, const ReportData& data, const HtmlPageInfo& info,
                     const HtmlOptions& options, OutputSink& out) {
  write_data(tree, data, info, options, out);
}

void render_html(const StackTree& tree, const ReportData& data, const HtmlPageInfo& info, const HtmlOptions& options,
                 OutputSink& out) {
  // The assets go into <style> and <script> as they are: neither may close its element early.
  if (std::string_view(kReportJs).find("</") != std::string_view::npos ||
      std::string_view(kReportCss).find("</") != std::string_view::npos)
    throw std::logic_error("report.js or report.css contains \"</\", which would end its element");
  std::string head =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"pyflame-html (pyfold)\">\n<title>";
  append_xml_escaped(head, info.title);
  head += "</title>\n<style>\n";
  head += kReportCss;
  head += "</style>\n</head>\n<body>\n<noscript>This report needs JavaScript.</noscript>\n"
          "<script type=\"application/json\" id=\"pyfold-data\">";
  out.write(head);
  ScriptSafeSink data_sink(out);
  write_data(tree, data, info, options, data_sink);
  data_sink.commit();
  out.write("</script>\n<script>\n");
  out.write(kReportJs);
  out.write("</script>\n</body>\n</html>\n");
}

HtmlReport flame_html(const HtmlOptions& options, const std::vector<std::string>& inputs, const std::string& output) {
  HtmlReport report;
  StackTree tree;
  InvalidLineLog invalid(options.strict);
  HtmlPageInfo info;
  std::vector<std::string> sources = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  for (const std::string& path : sources) report.stacks += read_input(path, tree, invalid, info.header);
  tree.finish();
  report.invalid_lines = invalid.count();
  if (invalid.count() > 0) report.warnings.push_back(invalid.summary());
  if (tree.total_count() <= 0) {
    report.empty = true;
    return report;
  }
  ReportData data = build_report_data(tree);
  info.name = default_profile_name(inputs);
  info.title = options.title.empty() ? info.name : options.title;
  info.date = options.date;
  for (const auto& [key, value] : info.header)
    if (info.date.empty() && (key == "date" || key == "start" || key == "started")) info.date = value;
  if (info.date.empty()) info.date = file_date(inputs);

  auto out = OutputSink::open(output);
  if (options.json) {
    write_report_json(data, *out, options.pretty);
  } else {
    render_html(tree, data, info, options, *out);
  }
  out->commit();
  return report;
}

}  // namespace pyfold
