#include "pyfold/render/html_cli.hpp"

#include <boost/program_options.hpp>
#include <stdexcept>

#include "pyfold/command_line.hpp"

namespace po = boost::program_options;

namespace pyfold {

HtmlCommandLine parse_html_command_line(int argc, const char* const* argv) {
  HtmlCommandLine cli;
  HtmlOptions& o = cli.options;  // starts as the defaults, which --help shows
  std::vector<std::string> roots;
  bool no_sources = !o.sources;
  po::options_description visible(
      "Usage: pyflame-html [OPTIONS] [FILE...] [-o report.html]\n"
      "Folded stacks (FILE..., - or stdin, merged; gzip read by magic bytes; two-count lines: differential) to one\n"
      "self-contained HTML report: flame graph, hot functions, and each source file's lines with their samples.\n\n"
      "Options");
  add_standard_options(visible, cli.output, "write here (.gz: gzip) instead of stdout")
    ("title", po::value(&o.title)->value_name("TEXT"), "the page's title [the first input's file name, or stdin]")
    ("date", po::value(&o.date)->value_name("TEXT"),
     "the profile's date [the header's date: line, else the first input's modification time]")
    ("source-root", po::value(&roots)->value_name("OLD=NEW"),
     "read recorded paths under directory OLD from NEW instead (repeatable; the first match wins)")
    ("no-sources", po::bool_switch(&no_sources), "read no source files: counts only")
    ("inverted", po::bool_switch(&o.inverted), "open the flame graph as an icicle graph (root at the top)")
    ("json", po::bool_switch(&o.json),
     "write the report's data as JSON instead: {\"total\", \"files\": {PATH: {\"lines\": {LINE: {\"self\", "
     "\"total\"}}}}, \"functions\": [...]}")
    ("pretty", po::bool_switch(&o.pretty), "with --json: indented")
    ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
  parse_options_and_inputs(argc, argv, visible, cli.inputs, "See pyflame-html(1) and pyfold-folded(5).",
                           cli.help_text, cli.help, cli.version);
  if (cli.help || cli.version) return cli;
  for (const std::string& root : roots) o.source_roots.push_back(parse_source_root(root));
  o.sources = !no_sources;
  if (o.pretty && !o.json) throw std::invalid_argument("--pretty is for --json output");
  return cli;
}

}  // namespace pyfold
