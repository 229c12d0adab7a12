#pragma once
// pyflame-html: folded stacks to one self-contained HTML report: a flame graph, a table of hot functions and each
// source file's lines with their counts. The page's data is one JSON document in a <script type="application/json">
// (names and files once, the merged tree as preorder ids); assets/report.js draws it. See pyflame-html(1).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/render/html_report_data.hpp"
#include "pyfold/render/html_sources.hpp"
#include "pyfold/stack_tree.hpp"

namespace pyfold {

// Every option of pyflame-html; each default is stated here once (--help prints these).
struct HtmlOptions {
  std::string title;                     // the page's title; "" : the first input's file name, or "stdin"
  std::string date;                      // the profile's date; "" : the header's, else the first input's mtime
  std::vector<SourceRoot> source_roots;  // --source-root OLD=NEW, first match wins
  bool sources = true;                   // read the source files (--no-sources: counts only)
  bool inverted = false;                 // open as an icicle graph (root at the top)
  bool json = false;                     // write the report's data (html_report_data.hpp) instead of HTML
  bool pretty = false;                   // with json: indented
  bool strict = false;                   // the first invalid line is fatal
};

// What a profile's own header says: `# key: value` comment lines before its stacks (pyfold record, austin), in order.
using ProfileHeader = std::vector<std::pair<std::string, std::string>>;
// One header line; false when the line is not `# key: value`.
bool parse_header_line(std::string_view line, std::string& key, std::string& value);

// What the page shows besides the tree.
struct HtmlPageInfo {
  std::string title, name, date;
  ProfileHeader header;
};

// Writes the whole page for a finished tree.
void render_html(const StackTree& tree, const ReportData& data, const HtmlPageInfo& info, const HtmlOptions& options,
                 OutputSink& out);
// Only the page's JSON data (the golden tests compare it; render_html embeds it).
void write_html_data(const StackTree& tree, const ReportData& data, const HtmlPageInfo& info,
                     const HtmlOptions& options, OutputSink& out);

struct HtmlReport {
  std::uint64_t stacks = 0;       // stack lines read
  std::uint64_t invalid_lines = 0;
  bool empty = false;             // no counts at all: nothing was written
  std::vector<std::string> warnings;
};

// The whole stage: reads inputs in order ("-" is stdin; none means stdin), merges them, writes the page (or the
// JSON) to output ("" or "-" is stdout). Throws IoError, InputError (strict mode) and std::invalid_argument.
HtmlReport flame_html(const HtmlOptions& options, const std::vector<std::string>& inputs, const std::string& output);

}  // namespace pyfold
