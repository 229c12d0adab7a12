#include "pyfold/render/svg_cli.hpp"

#include <boost/program_options.hpp>
#include <stdexcept>

#include "pyfold/command_line.hpp"

namespace po = boost::program_options;

namespace pyfold {

SvgCommandLine parse_svg_command_line(int argc, const char* const* argv) {
  SvgCommandLine cli;
  SvgOptions& o = cli.options;  // starts as the defaults, which --help shows
  std::string colors = "hot", sort = "name";
  bool hash = false, random = false, python = false;
  po::options_description visible(
      "Usage: pyflame-svg [OPTIONS] [FILE...] > out.svg\n"
      "Folded stacks (FILE, - or stdin; gzip read by magic bytes) to an interactive SVG flame graph.\n\nOptions");
  add_help_and_version(visible)
    ("output,o", po::value(&cli.output)->value_name("FILE"), "write here (.svgz/.gz: gzip) instead of stdout")
    ("title", po::value(&o.title)->value_name("TEXT"), "title [Flame Graph, Icicle Graph or Flame Chart]")
    ("subtitle", po::value(&o.subtitle)->value_name("TEXT"), "second-level title")
    ("width", po::value(&o.width)->default_value(o.width)->value_name("PX"), "image width")
    ("height", po::value(&o.frame_height)->default_value(o.frame_height)->value_name("PX"), "frame height")
    ("minwidth", po::value(&o.min_width)->default_value(o.min_width)->value_name("PX|N%"),
     "omit frames narrower than this many pixels, or N% of the total")
    ("fonttype", po::value(&o.font_type)->default_value(o.font_type)->value_name("FONT"), "font")
    ("fontsize", po::value(&o.font_size)->default_value(o.font_size, "12")->value_name("N"), "font size")
    ("fontwidth", po::value(&o.font_width)->default_value(o.font_width, "0.59")->value_name("N"),
     "average character width relative to the font size")
    ("countname", po::value(&o.count_name)->default_value(o.count_name)->value_name("TEXT"), "count unit")
    ("nametype", po::value(&o.name_type)->default_value(o.name_type)->value_name("TEXT"), "name label")
    ("colors", po::value(&colors)->default_value(colors)->value_name("PALETTE"), palette_names())
    ("python", po::bool_switch(&python),
     "Python profiles: --colors python (colours by where the code lives, and labels with the file relative to "
     "its sys.path entry, e.g. dumps (json/__init__.py:183); the full text stays in the tooltip and search)")
    ("bgcolors", po::value(&o.bgcolors)->value_name("COLOR"), "yellow, blue, green, grey or #rrggbb [by palette]")
    ("hash", po::bool_switch(&hash), "colours by a hash of the name's first characters")
    ("random", po::bool_switch(&random), "random colours")
    ("deterministic", po::bool_switch(&o.deterministic), "with --random: the same colours on every run")
    ("cp", po::bool_switch(&o.consistent_palette), "consistent palette: read and update ./palette.map")
    ("search-color", po::value(&o.search_color)->default_value(o.search_color)->value_name("COLOR"),
     "fill of frames matching a search")
    ("sort", po::value(&sort)->default_value(sort)->value_name("name|weight"),
     "sibling order: by name (flamegraph.pl), or heaviest first")
    ("reverse", po::bool_switch(&o.reverse), "reverse stacks (merge from the leaf)")
    ("inverted", po::bool_switch(&o.inverted), "icicle graph")
    ("flamechart", po::bool_switch(&o.flamechart), "flame chart: input order, no merging across lines")
    ("negate", po::bool_switch(&o.negate), "differential: swap red and blue")
    ("notes", po::value(&o.notes)->value_name("TEXT"), "notes in an SVG comment")
    ("factor", po::value(&o.factor)->default_value(o.factor)->value_name("N"), "scale counts in titles")
    ("total", po::value(&o.total)->value_name("N"), "the 100% count [sum of counts]")
    ("nameattr", po::value(&o.nameattr_file)->value_name("FILE"),
     "function TAB name=value...: per-function attributes (href, target, id, class, title)")
    ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
  parse_options_and_inputs(argc, argv, visible, cli.inputs, "See pyflame-svg(1) and pyfold-folded(5).",
      cli.help_text, cli.help, cli.version);
  if (cli.help || cli.version) return cli;
  if (python) colors = "python";
  if (!parse_palette(colors, o.colors))
    throw std::invalid_argument("unknown --colors '" + colors + "': expected one of " + palette_names());
  if (sort != "name" && sort != "weight") throw std::invalid_argument("--sort is name or weight, not '" + sort + "'");
  o.sort = sort == "weight" ? StackTree::Order::weight : StackTree::Order::name;
  o.color_seed = hash ? ColorSeed::hash : random ? ColorSeed::random : ColorSeed::name_sum;
  return cli;
}

}  // namespace pyfold
