#include <catch2/catch.hpp>

#include <stdexcept>

#include "collapse_test_util.hpp"
#include "pyfold/collapse/collapse.hpp"
#include "pyfold/collapse/diff.hpp"
#include "pyfold/collapse/operations.hpp"

using namespace pyfold;
using namespace pyfold::collapse;
using Lines = std::vector<std::string>;

namespace {
std::string apply(const StackOperations& ops, std::string_view stack) {
  StackTransform t(ops);
  std::string out;
  return t.apply(stack, out) ? out : "<dropped>";
}
const char* kStack =
    "<module> (/app/main.py:5);run (/app/main.py:9);loads (/usr/lib/python3.11/json/__init__.py:346);"
    "decode (/usr/lib/python3.11/json/decoder.py:337);hook (/app/hooks.py:3);get (/venv/lib/python3.11/site-packages/"
    "requests/api.py:73)";
}  // namespace

TEST_CASE("table: identical stacks merge in order of first appearance; sorted order on request", "[operations]") {
  StackTable t;
  t.add("b;x", 1);
  t.add("a", 2);
  t.add("b;x", 3);
  CHECK(collapse_test::lines(t) == Lines{"b;x 4", "a 2"});
  CHECK(t.total() == 6);
  CHECK(t.sorted_order() == std::vector<std::size_t>{1, 0});
}

TEST_CASE("table: --input-order merges only repeats next to each other (a timeline keeps its order)",
          "[operations]") {
  StackTable t(true);
  t.add("a", 1);
  t.add("b", 1);
  t.add("a", 1);
  t.add("a", 2);
  CHECK(collapse_test::lines(t) == Lines{"a 1", "b 1", "a 3"});
  CHECK(t.total() == 5);
  StackTransform strip(StackOperations{});
  CHECK(collapse_test::lines(transform_table(t, strip)) == Lines{"a 1", "b 1", "a 3"});
}

TEST_CASE("--strip-lines and --strip-dirs rewrite the file part only", "[operations]") {
  CHECK(strip_line("f (a/b.py:12)") == "f (a/b.py)");
  CHECK(strip_line("f (b.py)") == "f (b.py)");
  CHECK(strip_line("[unknown]") == "[unknown]");
  CHECK(strip_line("f (C:\\x.py:7)") == "f (C:\\x.py)");
  std::string out;
  append_strip_dirs(out, "f (/a/b/c.py:3)");
  CHECK(out == "f (c.py:3)");
  out.clear();
  append_strip_dirs(out, "f (<frozen importlib._bootstrap>:1176)");
  CHECK(out == "f (<frozen importlib._bootstrap>:1176)");
  out.clear();
  append_strip_dirs(out, "f (C:\\Users\\me\\x.py:2)");
  CHECK(out == "f (x.py:2)");
  StackOperations both;
  both.strip_lines = both.strip_dirs = true;
  CHECK(apply(both, "a (/x/m.py:1);b (/y/n.py:2);native") == "a (m.py);b (n.py);native");
}

TEST_CASE("--hide-libraries: each run of stdlib/site-packages/frozen frames becomes one [library]", "[operations]") {
  CHECK(is_library_frame("loads (/usr/lib/python3.11/json/__init__.py:346)"));
  CHECK(is_library_frame("get (/venv/lib/python3.11/site-packages/requests/api.py:73)"));
  CHECK(is_library_frame("_find_and_load (<frozen importlib._bootstrap>:1176)"));
  CHECK_FALSE(is_library_frame("run (/app/main.py:9)"));
  CHECK_FALSE(is_library_frame("PyLong_FromLong"));
  StackOperations ops;
  ops.hide_libraries = true;
  CHECK(apply(ops, kStack) == "<module> (/app/main.py:5);run (/app/main.py:9);[library];hook (/app/hooks.py:3);[library]");
}

TEST_CASE("--include, --exclude, --focus keep or drop whole stacks; --focus roots at the outermost match", "[operations]") {
  StackOperations inc;
  inc.include = {"^hook "};
  CHECK(apply(inc, kStack) == kStack);
  CHECK(apply(inc, "a;b") == "<dropped>");
  StackOperations exc;
  exc.exclude = {"site-packages"};
  CHECK(apply(exc, kStack) == "<dropped>");
  CHECK(apply(exc, "a;b") == "a;b");
  StackOperations focus;
  focus.focus = "^f$";
  CHECK(apply(focus, "main;f;g;f;h") == "f;g;f;h");
  CHECK(apply(focus, "main;g") == "<dropped>");
  StackOperations bad;
  bad.include = {"("};
  CHECK_THROWS_AS(StackTransform(bad), std::invalid_argument);
  CHECK(StackTransform(StackOperations{}).identity());
}

TEST_CASE("transform_table merges the stacks a rewrite makes equal", "[operations]") {
  StackTable t;
  t.add("main (/a.py:1);f (/a.py:2)", 2);
  t.add("main (/a.py:1);f (/a.py:3)", 5);
  StackOperations ops;
  ops.strip_lines = true;
  CHECK(collapse_test::lines(transform_table(t, StackTransform(ops))) == Lines{"main (/a.py);f (/a.py) 7"});
}

TEST_CASE("the format registry: auto guesses from the content, never from the name", "[registry]") {
  auto guess = [](std::string text, std::string name) {
    PeekableInput input(InputSource::from_string(std::move(text), std::move(name)));
    std::string format = guess_format(input).name;
    std::string again(input.head().size(), '\0');
    return format;
  };
  CHECK(guess("main;f 3\n", "x.perf") == "folded");
  CHECK(guess("# austin: 3.6\nP1;T1;/a.py:f:1 3\n", "x.folded") == "austin");
  CHECK(guess("a 1 1.0: 5 cycles:\n\t1 f (/x)\n\n", "x.json") == "perf");
  CHECK(guess(R"({"$schema":"https://www.speedscope.app/file-format-schema.json"})", "x.txt") == "speedscope");
  CHECK(guess("", "empty") == "folded");
  // A perf header longer than the first 4 KiB: the guess reads on.
  CHECK(guess(std::string(3000, '#') + "\n" + std::string(3000, '#') + "\na 1 1.0: 5 cycles:\n\t1 f (/x)\n\n", "p") ==
        "perf");
  CHECK(guess(std::string("\xfb\xa9\x03\xda\x08", 5), "prof") == "pstats");  // {(3, 'short ascii'...
  CHECK_THROWS_WITH(guess("\xfb\x01\x02", "prof.pstats"), Catch::Contains("cannot tell the format"));
  CHECK_THROWS_WITH(guess("<html>\n<body>\n", "page"), Catch::Contains("cannot tell the format"));
}

TEST_CASE("PeekableInput replays its head before the rest", "[registry]") {
  std::string data(10000, 'x');
  data[9999] = 'y';
  PeekableInput input(InputSource::from_string(data, "d"));
  input.fill(4096);
  CHECK(input.head().size() == 4096);
  std::string all;
  char buffer[3000];
  for (std::size_t n; (n = input.read(buffer, sizeof buffer)) > 0;) all.append(buffer, n);
  CHECK(all == data);
}

TEST_CASE("--format names a format", "[registry]") {
  CHECK(std::string(format_named("perf").name) == "perf");
  CHECK(std::string(format_named("pstats").name) == "pstats");
  CHECK_THROWS_WITH(format_named("xml"), Catch::Contains("unknown --format 'xml'"));
}

TEST_CASE("pyfold-collapse: no arguments parse to the default options", "[collapse][cli]") {
  const char* argv[] = {"pyfold-collapse"};
  CollapseCommandLine cli = parse_collapse_command_line(1, argv);
  CollapseOptions d;
  CHECK(cli.options.format == d.format);
  CHECK(cli.options.order == d.order);
  CHECK(cli.options.strict == d.strict);
  CHECK(cli.options.pstats.prune == d.pstats.prune);
  CHECK(cli.options.pstats.unit == d.pstats.unit);
  CHECK(cli.options.pstats.weight == d.pstats.weight);
  CHECK(cli.options.pstats.exact == d.pstats.exact);
  CHECK(cli.options.pstats.max_depth == d.pstats.max_depth);
  CHECK(cli.options.speedscope.profile == d.speedscope.profile);
  CHECK_FALSE(cli.options.perf.python_only);
  CHECK(cli.inputs.empty());
  CHECK(cli.output.empty());
  CHECK(cli.help_text.find("--hide-libraries") != std::string::npos);
}

TEST_CASE("pyfold-collapse: options parse into the stage's options", "[collapse][cli]") {
  const char* argv[] = {"pyfold-collapse", "--all", "--prune", "0", "--unit", "ms", "--weight", "calls", "--exact",
                        "--profile", "all", "--include", "a", "--include", "b", "--sort", "-o", "out.gz", "x", "y"};
  CollapseCommandLine cli = parse_collapse_command_line(20, argv);
  CHECK(cli.options.perf.kernel);
  CHECK(cli.options.perf.jit);
  CHECK(cli.options.pstats.prune == 0);
  CHECK(cli.options.pstats.unit == PstatsOptions::Unit::ms);
  CHECK(cli.options.pstats.weight == PstatsOptions::Weight::calls);
  CHECK(cli.options.pstats.exact);
  CHECK(cli.options.speedscope.profile == SpeedscopeInputOptions::kAll);
  CHECK(cli.options.operations.include == std::vector<std::string>{"a", "b"});
  CHECK(cli.options.order == OutputOrder::sorted);
  CHECK(cli.output == "out.gz");
  CHECK(cli.inputs == std::vector<std::string>{"x", "y"});
  const char* bad_unit[] = {"pyfold-collapse", "--unit", "s"};
  CHECK_THROWS_AS(parse_collapse_command_line(3, bad_unit), std::invalid_argument);
  const char* pstats[] = {"pyfold-collapse", "--format", "pstats"};
  CHECK(parse_collapse_command_line(3, pstats).options.format == "pstats");
  const char* profile[] = {"pyfold-collapse", "--profile", "-1"};
  CHECK_THROWS_AS(parse_collapse_command_line(3, profile), std::invalid_argument);
}

TEST_CASE("pyfold-diff: two inputs required; -n and -s", "[diff][cli]") {
  const char* one[] = {"pyfold-diff", "a"};
  CHECK_THROWS_AS(parse_diff_command_line(2, one), std::invalid_argument);
  const char* two[] = {"pyfold-diff", "-n", "-s", "a", "b"};
  DiffCommandLine cli = parse_diff_command_line(5, two);
  CHECK(cli.options.normalize);
  CHECK(cli.options.strip_hex);
  CHECK(cli.inputs == std::vector<std::string>{"a", "b"});
}
