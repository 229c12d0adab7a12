// pyflame-svg: folded stacks to an interactive SVG flame graph. Parses options, calls pyfold::flame_svg.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "pyfold/cli.hpp"
#include "pyfold/render/svg.hpp"

namespace po = boost::program_options;
using pyfold::SvgOptions;

int main(int argc, char** argv) {
  return pyfold::run_cli("pyflame-svg", [&] {
    SvgOptions o;  // the defaults
    std::string colors = "hot", sort = "name", output;
    std::vector<std::string> inputs;
    bool hash = false, random = false;
    po::options_description visible("Usage: pyflame-svg [OPTIONS] [FILE...] > out.svg\n"
                                    "Folded stacks (FILE, - or stdin; gzip read by magic bytes) to a flame graph.\n\nOptions");
    visible.add_options()
      ("help", "this message")("version", "print the version")
      ("output,o", po::value(&output)->value_name("FILE"), "write here (.svgz/.gz: gzip) instead of stdout")
      ("title", po::value(&o.title)->value_name("TEXT"), "title [Flame Graph]")
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
      ("colors", po::value(&colors)->default_value(colors)->value_name("PALETTE"), pyfold::palette_names())
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
      ("nameattr", po::value(&o.nameattr_file)->value_name("FILE"), "per-function attributes (href, title...)")
      ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
    po::options_description all;
    all.add(visible).add_options()("input", po::value(&inputs));
    po::positional_options_description positional;
    positional.add("input", -1);
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
    if (vm.count("help")) return std::cout << visible << "\nSee pyflame-svg(1) and pyfold-folded(5).\n", 0;
    if (vm.count("version")) return std::cout << pyfold::version_line("pyflame-svg") << "\n", 0;
    if (!pyfold::parse_palette(colors, o.colors)) throw std::invalid_argument("unknown --colors '" + colors + "'");
    if (sort != "name" && sort != "weight") throw std::invalid_argument("--sort is name or weight");
    o.sort = sort == "weight" ? pyfold::StackTree::Order::weight : pyfold::StackTree::Order::name;
    o.color_seed = hash ? pyfold::ColorSeed::hash : random ? pyfold::ColorSeed::random : pyfold::ColorSeed::name_sum;

    pyfold::SvgReport report = pyfold::flame_svg(o, inputs, output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyflame-svg: %s\n", warning.c_str());
    if (report.empty) return std::fprintf(stderr, "pyflame-svg: no stack counts found in the input\n"), 2;
    return 0;
  });
}
