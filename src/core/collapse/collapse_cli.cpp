#include <boost/program_options.hpp>
#include <stdexcept>

#include "pyfold/command_line.hpp"
#include "pyfold/collapse/collapse.hpp"

namespace po = boost::program_options;

namespace pyfold::collapse {

CollapseCommandLine parse_collapse_command_line(int argc, const char* const* argv) {
  CollapseCommandLine cli;
  CollapseOptions& o = cli.options;  // starts as the defaults, which --help shows
  bool all = false, sort = false, input_order = false;
  std::string profile = "active", unit = "us", weight = "time";
  po::options_description general(
      "Usage: pyfold collapse [OPTIONS] [FILE...] > out.folded\n"
      "Profiles (FILE, - or stdin; gzip read by magic bytes) to folded stacks, merged (counts summed).\n\nOptions");
  add_help_and_version(general)
    ("output,o", po::value(&cli.output)->value_name("FILE"), "write here (.gz: gzip) instead of stdout")
    ("format", po::value(&o.format)->default_value(o.format)->value_name("FORMAT"),
     ("input format: " + format_names() + " (auto: guessed from the content)").c_str())
    ("sort", po::bool_switch(&sort), "output in byte order of the stacks [the default for perf script input only]")
    ("input-order", po::bool_switch(&input_order), "output in order of first appearance [the default otherwise]")
    ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
  po::options_description operations("Operations on stacks (any input; regexes match frames as read)");
  operations.add_options()
    ("strip-lines", po::bool_switch(&o.operations.strip_lines), "f (file.py:12) -> f (file.py)")
    ("strip-dirs", po::bool_switch(&o.operations.strip_dirs), "f (/a/b/file.py:12) -> f (file.py:12)")
    ("include", po::value(&o.operations.include)->composing()->value_name("REGEX"),
     "keep only stacks with a frame matching REGEX (repeatable: any)")
    ("exclude", po::value(&o.operations.exclude)->composing()->value_name("REGEX"),
     "drop stacks with a frame matching REGEX (repeatable)")
    ("focus", po::value(&o.operations.focus)->value_name("REGEX"),
     "keep only stacks through a frame matching REGEX, rooted at the outermost such frame")
    ("hide-libraries", po::bool_switch(&o.operations.hide_libraries),
     "runs of standard-library and site-packages frames -> one [library] frame");
  po::options_description perf("perf script (as stackcollapse-perf.pl)");
  perf.add_options()
    ("pid", po::bool_switch(&o.perf.pid), "root frame comm-PID")
    ("tid", po::bool_switch(&o.perf.tid), "root frame comm-PID/TID")
    ("kernel", po::bool_switch(&o.perf.kernel), "kernel frames get _[k]")
    ("jit", po::bool_switch(&o.perf.jit), "/tmp/perf-PID.map frames (not Python ones) get _[j]")
    ("all", po::bool_switch(&all), "--kernel and --jit")
    ("addrs", po::bool_switch(&o.perf.addrs), "[unknown] frames keep their address")
    ("event-filter", po::value(&o.perf.event_filter)->value_name("EVENT"),
     "keep samples of this event [the first event type seen]")
    ("python-only", po::bool_switch(&o.perf.python_only),
     "keep only Python frames (py::qualname:file from python -X perf) under comm")
    ("native-leaf", po::bool_switch(&o.perf.native_leaf), "with --python-only: keep the native leaf frame too");
  po::options_description samplers("austin and speedscope");
  samplers.add_options()
    ("threads", po::bool_switch(&o.austin.threads),
     "austin: process and thread root frames; speedscope: the profile's name as root frame")
    ("profile", po::value(&profile)->default_value(profile)->value_name("N|all|active"),
     "speedscope: the profile to read (0-based), all of them merged, or the file's active one");
  po::options_description pstats("pstats (cProfile, profile, yappi dumps)");
  pstats.add_options()
    ("prune", po::value(&o.pstats.prune)->default_value(o.pstats.prune, "0.0001")->value_name("REL"),
     "subtrees below this share of the total become a [pruned] child of their caller (0: none)")
    ("unit", po::value(&unit)->default_value(unit)->value_name("us|ms|ns"), "pstats and evented speedscope: counts are whole time in this unit")
    ("weight", po::value(&weight)->default_value(weight)->value_name("time|calls"), "what the counts measure")
    ("exact", po::bool_switch(&o.pstats.exact), "stacks go up only while there is one caller ([ambiguous callers] above)")
    ("max-depth", po::value(&o.pstats.max_depth)->default_value(o.pstats.max_depth)->value_name("N"),
     "deeper stacks keep their root side and leaf ([frames cut] between)");
  general.add(operations).add(perf).add(samplers).add(pstats);
  parse_options_and_inputs(argc, argv, general, cli.inputs, "See pyfold-collapse(1) and pyfold-folded(5).",
      cli.help_text, cli.help, cli.version);
  if (cli.help || cli.version) return cli;

  if (o.format != "auto") format_named(o.format);  // an unknown format is a usage error before any input is read
  if (all) o.perf.kernel = o.perf.jit = true;
  if (sort && input_order) throw std::invalid_argument("--sort and --input-order exclude each other");
  o.order = sort ? OutputOrder::sorted : input_order ? OutputOrder::input : OutputOrder::automatic;
  o.speedscope.threads = o.austin.threads;
  if (profile == "all") {
    o.speedscope.profile = SpeedscopeOptions::kAll;
  } else if (profile == "active") {
    o.speedscope.profile = SpeedscopeOptions::kActive;
  } else {
    std::size_t used = 0;
    int n = -1;
    try {
      n = std::stoi(profile, &used);
    } catch (const std::exception&) {
    }
    if (n < 0 || used != profile.size())
      throw std::invalid_argument("--profile is a 0-based number, all or active, not '" + profile + "'");
    o.speedscope.profile = n;
  }
  if (unit == "us") {
    o.pstats.unit = TimeUnit::us;
  } else if (unit == "ms") {
    o.pstats.unit = TimeUnit::ms;
  } else if (unit == "ns") {
    o.pstats.unit = TimeUnit::ns;
  } else {
    throw std::invalid_argument("--unit is us, ms or ns, not '" + unit + "'");
  }
  o.speedscope.unit = o.pstats.unit;
  if (weight == "time") {
    o.pstats.weight = PstatsOptions::Weight::time;
  } else if (weight == "calls") {
    o.pstats.weight = PstatsOptions::Weight::calls;
  } else {
    throw std::invalid_argument("--weight is time or calls, not '" + weight + "'");
  }
  if (!(o.pstats.prune >= 0 && o.pstats.prune < 1)) throw std::invalid_argument("--prune is a share in [0, 1)");
  if (o.pstats.max_depth == 0) throw std::invalid_argument("--max-depth is at least 1");
  return cli;
}

}  // namespace pyfold::collapse
