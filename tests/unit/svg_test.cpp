#include <catch2/catch.hpp>
#include <regex>

#include "pyfold/render/svg.hpp"
#include "pyfold/render/svg_cli.hpp"

using namespace pyfold;

namespace {
std::string render(StackTree& tree, const SvgOptions& options = SvgOptions()) {
  tree.finish();
  std::string text;
  auto sink = OutputSink::into_string(text);
  std::vector<std::string> warnings;
  render_svg(tree, options, *sink, warnings);
  sink->commit();
  return text;
}
std::string frames_part(const std::string& svg) { return svg.substr(svg.find("<g id=\"frames\"")); }
}  // namespace

TEST_CASE("a frame named like markup comes out as text", "[svg]") {
  StackTree tree;
  tree.add("<script>alert(1)</script>;a&b \"q\"", 1000);
  std::string svg = render(tree);
  CHECK(svg.find("<script>alert") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;alert(1)&lt;/script&gt; (1,000 samples, 100.00%)") != std::string::npos);
  CHECK(svg.find("a&amp;b &quot;q&quot; (1,000 samples, 100.00%)") != std::string::npos);
}

TEST_CASE("a frame named by spaces, or empty, is drawn as flamegraph.pl draws it", "[svg]") {
  StackTree tree;  // perf's address-only frame (" ") and an empty frame between two others
  tree.add("java;main; ", 1);
  tree.add("a;;b", 2);
  std::string svg = render(tree);
  CHECK(svg.find("<title>  (1 samples, 33.33%)</title>") != std::string::npos);
  CHECK(svg.find("<title> (2 samples, 66.67%)</title>") != std::string::npos);
  CHECK(svg.find("<title>b (2 samples, 66.67%)</title>") != std::string::npos);
}

TEST_CASE("title, subtitle, notes and names are escaped; control characters dropped", "[svg]") {
  StackTree tree;
  tree.add(std::string("bad\x01\x1b" "byte\xff", 10), 10);
  SvgOptions options;
  options.title = "A & B <c>";
  options.subtitle = "x > y";
  options.notes = "n -- m <x>";
  options.count_name = "bytes&";
  std::string svg = render(tree, options);
  CHECK(svg.find(">A &amp; B &lt;c&gt;</text>") != std::string::npos);
  CHECK(svg.find(">x &gt; y</text>") != std::string::npos);
  CHECK(svg.find("<!-- NOTES: n - - m <x> -->") != std::string::npos);
  CHECK(svg.find("badbyte\xEF\xBF\xBD (10 bytes&amp;, 100.00%)") != std::string::npos);
  CHECK(svg.find('\x01') == std::string::npos);
  CHECK(svg.find('\x1b') == std::string::npos);
}

TEST_CASE("labels are cut on code points with '..'", "[svg]") {
  StackTree tree;
  tree.add("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9;x", 1);  // 8 x "é"
  tree.add("y", 99);
  SvgOptions options;
  options.width = 60;  // 40 px for 100 counts: the é frame is 0.4 px, the y frame 39.6 px
  options.min_width = "0";
  std::string svg = render(tree, options);
  CHECK(svg.find(">y</text>") != std::string::npos);
  options.width = 2020;  // 20 px per count: 20 / (12 * 0.59) = 2 chars for one count: no label
  StackTree wide;
  wide.add("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3);  // 60 px: 8 chars fit
  wide.add("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 97);
  svg = render(wide, options);
  CHECK(svg.find(">\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9</text>") != std::string::npos);
  StackTree narrow;
  narrow.add("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 2);  // 40 px: 5 chars
  narrow.add("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 98);
  svg = render(narrow, options);
  CHECK(svg.find(">\xC3\xA9\xC3\xA9\xC3\xA9..</text>") != std::string::npos);
}

TEST_CASE("output is the same bytes for the same input", "[svg]") {
  auto build = [] {
    StackTree tree;
    for (int i = 0; i < 500; ++i) tree.add("m;f" + std::to_string(i % 37) + ";g" + std::to_string(i % 11), 1 + i % 5);
    return tree;
  };
  StackTree a = build(), b = build();
  CHECK(render(a) == render(b));
}

TEST_CASE("frames narrower than --minwidth are left out, and their space kept", "[svg]") {
  StackTree tree;
  tree.add("a", 1);
  tree.add("b", 999);
  SvgOptions options;
  options.min_width = "0.2%";
  std::string svg = frames_part(render(tree, options));
  CHECK(svg.find("<title>a ") == std::string::npos);
  CHECK(svg.find("<title>b (999 samples, 99.90%)</title><rect x=\"11.2\"") != std::string::npos);
  options.min_width = "0";
  StackTree again;
  again.add("a", 1);
  again.add("b", 999);
  CHECK(frames_part(render(again, options)).find("<title>a (1 samples, 0.10%)") != std::string::npos);
}

TEST_CASE("differential frames show their delta and colour", "[svg]") {
  StackTree tree;
  tree.add_differential("a;grew", 30, 20);
  tree.add_differential("a;shrank", 10, -10);
  std::string svg = render(tree);
  CHECK(svg.find("<title>grew (30 samples, 75.00%; +50.00%)</title>") != std::string::npos);
  CHECK(svg.find("<title>shrank (10 samples, 25.00%; -25.00%)</title>") != std::string::npos);
  CHECK(svg.find("<title>a (40 samples, 100.00%; 0.00%)</title>") != std::string::npos);
  CHECK(svg.find("fill=\"rgb(255,0,0)\"") != std::string::npos);
  CHECK(svg.find("fill=\"rgb(105,105,255)\"") != std::string::npos);
}

TEST_CASE("mixed one-count and two-count lines: only two-count paths show a change", "[svg]") {
  StackTree tree;
  tree.add("plain;leaf", 10);
  tree.add_differential("diff;grew", 10, 5);
  std::string svg = render(tree);
  CHECK(svg.find("<title>leaf (10 samples, 50.00%)</title>") != std::string::npos);
  CHECK(svg.find("<title>grew (10 samples, 50.00%; +25.00%)</title>") != std::string::npos);
  CHECK(svg.find("<title>diff (10 samples, 50.00%; 0.00%)</title>") != std::string::npos);
  Palette hot(PaletteKind::hot, ColorSeed::name_sum);
  std::size_t leaf = svg.find("<title>leaf (");
  REQUIRE(leaf != std::string::npos);
  std::string rect = svg.substr(leaf, svg.find("/>", leaf) - leaf);
  CHECK(rect.find("fill=\"" + hot.color("leaf") + "\"") != std::string::npos);
}

TEST_CASE("options that cannot work are refused with a reason", "[svg]") {
  SvgOptions options;
  options.min_width = "1px";
  CHECK_THROWS_WITH(validate(options), Catch::Contains("invalid --minwidth '1px'"));
  options = SvgOptions();
  options.bgcolors = "pink";
  CHECK_THROWS_WITH(validate(options), Catch::Contains("unknown --bgcolors 'pink'"));
  options = SvgOptions();
  options.flamechart = true;
  options.sort = StackTree::Order::weight;
  CHECK_THROWS_AS(validate(options), std::invalid_argument);
}

TEST_CASE("--total below the sum is ignored with a warning, above it narrows frames", "[svg]") {
  StackTree tree;
  tree.add("a", 50);
  tree.finish();
  SvgOptions options;
  options.total = 10;
  std::string narrow_text;
  auto sink = OutputSink::into_string(narrow_text);
  std::vector<std::string> warnings;
  render_svg(tree, options, *sink, warnings);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "specified --total 10 is less than the actual total 50, so it is ignored");
  options.total = 100;
  std::string wide_text;
  auto wide = OutputSink::into_string(wide_text);
  warnings.clear();
  render_svg(tree, options, *wide, warnings);
  wide->commit();
  CHECK(warnings.empty());
  CHECK(wide_text.find("<title>a (50 samples, 50.00%)</title><rect x=\"10.0\" y=\"37\" width=\"590.0\"") !=
        std::string::npos);
}

TEST_CASE("no arguments parse to the default options", "[svg][cli]") {
  const char* argv[] = {"pyflame-svg"};
  SvgCommandLine cli = parse_svg_command_line(1, argv);
  SvgOptions defaults;
  CHECK(cli.inputs.empty());
  CHECK(cli.output.empty());
  CHECK_FALSE(cli.help);
  CHECK(cli.options.width == defaults.width);
  CHECK(cli.options.frame_height == defaults.frame_height);
  CHECK(cli.options.min_width == defaults.min_width);
  CHECK(cli.options.font_type == defaults.font_type);
  CHECK(cli.options.font_size == defaults.font_size);
  CHECK(cli.options.font_width == defaults.font_width);
  CHECK(cli.options.count_name == defaults.count_name);
  CHECK(cli.options.name_type == defaults.name_type);
  CHECK(cli.options.colors == defaults.colors);
  CHECK(cli.options.color_seed == defaults.color_seed);
  CHECK(cli.options.search_color == defaults.search_color);
  CHECK(cli.options.sort == defaults.sort);
  CHECK(cli.options.factor == defaults.factor);
  CHECK(cli.options.total == defaults.total);
  CHECK_FALSE((cli.options.reverse || cli.options.inverted || cli.options.flamechart || cli.options.negate ||
               cli.options.strict || cli.options.consistent_palette || cli.options.deterministic));
  // flamegraph.pl's documented defaults.
  CHECK(defaults.width == 1200);
  CHECK(defaults.frame_height == 16);
  CHECK(defaults.min_width == "0.1");
  CHECK(defaults.font_type == "Verdana");
  CHECK(defaults.font_size == 12);
  CHECK(defaults.font_width == 0.59);
  CHECK(cli.help_text.find("--minwidth PX|N% (=0.1)") != std::string::npos);
}

TEST_CASE("flamegraph.pl-style command lines parse", "[svg][cli]") {
  const char* argv[] = {"pyflame-svg", "--title=My App", "--color", "java", "--width", "800", "--minwidth", "0.5%",
                        "--hash", "--inverted", "-o", "out.svg", "a.folded", "-"};
  SvgCommandLine cli = parse_svg_command_line(14, argv);
  CHECK(cli.options.title == "My App");
  CHECK(cli.options.colors == PaletteKind::java);  // --color: an unambiguous abbreviation, as Getopt::Long allows
  CHECK(cli.options.width == 800);
  CHECK(cli.options.min_width == "0.5%");
  CHECK(cli.options.color_seed == ColorSeed::hash);
  CHECK(cli.options.inverted);
  CHECK(cli.output == "out.svg");
  CHECK(cli.inputs == std::vector<std::string>{"a.folded", "-"});
}
