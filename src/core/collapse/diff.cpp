#include "pyfold/collapse/diff.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <map>
#include <stdexcept>

#include "pyfold/command_line.hpp"
#include "pyfold/folded.hpp"

namespace po = boost::program_options;

namespace pyfold::collapse {
namespace {

// s/0x[0-9a-fA-F]+/0x.../g
std::string strip_hex(std::string_view stack) {
  std::string out;
  out.reserve(stack.size());
  for (std::size_t i = 0; i < stack.size();) {
    if (stack[i] == '0' && i + 2 < stack.size() + 0 && stack[i + 1] == 'x' && std::isxdigit(static_cast<unsigned char>(stack[i + 2]))) {
      out += "0x...";
      i += 2;
      while (i < stack.size() && std::isxdigit(static_cast<unsigned char>(stack[i]))) ++i;
    } else {
      out += stack[i++];
    }
  }
  return out;
}

}  // namespace

DiffReport diff_files(const DiffOptions& options, const std::string& before, const std::string& after,
                      const std::string& output) {
  DiffReport report;
  struct Counts {
    double before = 0, after = 0;
  };
  std::map<std::string, Counts, std::less<>> stacks;  // sorted output, stable across runs
  double totals[2] = {0, 0};
  const std::string* paths[2] = {&before, &after};
  for (int side = 0; side < 2; ++side) {
    CollapseReport read;
    StackTable table = collapse_to_table(options.collapse, {*paths[side]}, read);
    for (std::string& w : read.warnings) report.warnings.push_back(std::move(w));
    if (read.stacks_read == 0) report.warnings.push_back(*paths[side] + ": no stacks");
    for (std::size_t i = 0; i < table.size(); ++i) {
      std::string key = options.strip_hex ? strip_hex(table.stack(i)) : std::string(table.stack(i));
      Counts& c = stacks[key];
      (side == 0 ? c.before : c.after) += table.count(i);
      totals[side] += table.count(i);
    }
  }
  // difffolded.pl -n: the first profile's counts scaled to the second's total, truncated to integers.
  bool scale = options.normalize && totals[0] != totals[1] && totals[0] > 0;
  auto out = OutputSink::open(output);
  std::string line;
  for (const auto& [stack, counts] : stacks) {
    line.clear();
    append_folded_line(line, stack, scale ? std::trunc(counts.before * totals[1] / totals[0]) : counts.before,
                       counts.after);
    out->write(line);
  }
  out->commit();
  report.stacks = stacks.size();
  return report;
}

DiffCommandLine parse_diff_command_line(int argc, const char* const* argv) {
  DiffCommandLine cli;
  DiffOptions& o = cli.options;
  po::options_description visible(
      "Usage: pyfold diff [OPTIONS] BEFORE AFTER > diff.folded\n"
      "Two profiles (any format pyfold collapse reads) to differential folded lines \"STACK BEFORE AFTER\",\n"
      "as difffolded.pl writes them; pyflame-svg draws growth red and shrinkage blue.\n\nOptions");
  add_standard_options(visible, cli.output, "write here (.gz: gzip) instead of stdout")
    ("normalize,n", po::bool_switch(&o.normalize), "scale BEFORE's counts so both totals match")
    ("strip-hex,s", po::bool_switch(&o.strip_hex), "hex numbers (addresses) become 0x...")
    ("format", po::value(&o.collapse.format)->default_value(o.collapse.format)->value_name("FORMAT"),
     ("format of both profiles: " + format_names()).c_str())
    ("strict", po::bool_switch(&o.collapse.strict), "stop at the first invalid line (exit 2)");
  parse_options_and_inputs(argc, argv, visible, cli.inputs, "See pyfold-diff(1) and pyfold-collapse(1).",
      cli.help_text, cli.help, cli.version);
  if (cli.help || cli.version) return cli;
  if (cli.inputs.size() != 2) throw std::invalid_argument("expected two profiles, BEFORE and AFTER");
  if (o.collapse.format != "auto") format_named(o.collapse.format);
  return cli;
}

}  // namespace pyfold::collapse
