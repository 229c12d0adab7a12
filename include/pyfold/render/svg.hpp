#pragma once
// pyflame-svg: folded stacks to an interactive SVG flame graph with flamegraph.pl's options, layout and colours.
#include <cstdint>
#include <string>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/render/palette.hpp"
#include "pyfold/stack_tree.hpp"

namespace pyfold {

// Every option of pyflame-svg; each default is stated here once (--help prints these).
struct SvgOptions {
  // Text
  std::string title;                 // "" : "Flame Graph", "Icicle Graph" (inverted) or "Flame Chart" (flamechart)
  std::string subtitle;              // second heading, none when ""
  std::string notes;                 // put in an XML comment in the SVG
  std::string count_name = "samples";
  std::string name_type = "Function:";
  // Geometry
  int width = 1200;                  // image width, pixels
  int frame_height = 16;             // height of a frame, pixels
  double font_size = 12;
  double font_width = 0.59;          // average glyph width relative to font_size, for fitting labels
  std::string font_type = "Verdana";
  std::string min_width = "0.1";     // frames narrower than this are left out: pixels, or "N%" of the total
  // Colours
  PaletteKind colors = PaletteKind::hot;
  std::string bgcolors;              // yellow, blue, green, grey or #rrggbb; "" : the palette's default
  ColorSeed color_seed = ColorSeed::name_sum;
  bool deterministic = false;        // with --random: a fixed seed, so the same input gives the same SVG
  bool consistent_palette = false;   // read and write palette_file (--cp)
  std::string palette_file = "palette.map";
  std::string search_color = "rgb(230,0,230)";
  bool negate = false;               // differential: swap red and blue
  // Layout
  bool reverse = false;              // merge stacks from the leaf end
  bool inverted = false;             // icicle graph: root at the top
  bool flamechart = false;           // input order, only adjacent identical frames merged
  StackTree::Order sort = StackTree::Order::name;  // sibling order (not for flamechart)
  double factor = 1;                 // multiplies counts in the titles
  double total = 0;                  // the 100% count; 0 : the sum of the counts
  std::string nameattr_file;         // function TAB name=value... : attributes (href, target, id, class, title)
  // Input
  bool strict = false;               // the first invalid line is fatal
};

// Checks the options that need it (min_width, bgcolors, font, colours); throws std::invalid_argument.
void validate(const SvgOptions& options);

// Draws a finished tree (built with Merge::adjacent for flamechart, leaf-first stacks for reverse).
// Warnings (e.g. an ignored --total) are appended to warnings.
void render_svg(const StackTree& tree, const SvgOptions& options, OutputSink& out,
                std::vector<std::string>& warnings);

// flamegraph.pl's SVG for empty input: a picture of the error, for tools that automate flame graphs.
void render_error_svg(const SvgOptions& options, const std::string& message, OutputSink& out);

struct SvgReport {
  std::uint64_t stacks = 0;          // stack lines read
  std::uint64_t invalid_lines = 0;
  bool empty = false;                // no counts at all: an error SVG was written
  std::vector<std::string> warnings;
};

// The whole stage: reads inputs ("-" is stdin; none means stdin), merges them, writes the SVG to output
// ("" or "-" is stdout). Throws IoError, InputError (strict mode, count overflow) and std::invalid_argument.
SvgReport flame_svg(const SvgOptions& options, const std::vector<std::string>& inputs, const std::string& output);

}  // namespace pyfold
