// pyflame-html's tables: per-line and per-function self and total from folded stacks (html_report_data.hpp), the
// --json shape, the header lines, and where sources are read from.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "pyfold/render/html.hpp"
#include "pyfold/render/html_cli.hpp"
#include "pyfold/render/html_report_data.hpp"
#include "pyfold/render/html_sources.hpp"

using namespace pyfold;

namespace {

ReportData report(const std::vector<std::pair<std::string, double>>& stacks) {
  StackTree tree;
  for (const auto& [stack, count] : stacks) tree.add(stack, count);
  tree.finish();
  return build_report_data(tree);
}

const ReportFile& file_named(const ReportData& data, const std::string& path) {
  for (const ReportFile& file : data.files)
    if (file.path == path) return file;
  FAIL("no file " << path);
  throw std::logic_error("unreachable");
}

const ReportFunction& function_named(const ReportData& data, const std::string& name) {
  for (const ReportFunction& function : data.functions)
    if (function.name == name) return function;
  FAIL("no function " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("html data: a line's self is where stacks end, its total every stack through it", "[html]") {
  ReportData data = report({{"main (a.py:10);work (a.py:3)", 30},
                            {"main (a.py:10);work (a.py:4)", 10},
                            {"main (a.py:11);helper (b.py:2)", 7},
                            {"main (a.py:11)", 3}});
  CHECK(data.total == 50);
  const ReportFile& a = file_named(data, "a.py");
  CHECK(a.lines.at(10).self == 0);
  CHECK(a.lines.at(10).total == 40);
  CHECK(a.lines.at(11).self == 3);
  CHECK(a.lines.at(11).total == 10);
  CHECK(a.lines.at(3).self == 30);
  CHECK(a.lines.at(3).total == 30);
  CHECK(a.lines.at(4).total == 10);
  CHECK(a.counts.total == 50);  // every stack passes through a.py once
  CHECK(a.counts.self == 43);
  const ReportFile& b = file_named(data, "b.py");
  CHECK(b.lines.at(2).self == 7);
  CHECK(b.counts.total == 7);
  // The two call lines hold their 3:1 ratio.
  CHECK(a.lines.at(3).total / a.lines.at(4).total == 3);
}

TEST_CASE("html data: recursion counts a stack once in a line's and a function's total", "[html]") {
  ReportData data = report({{"main (f.py:9);fib (f.py:2);fib (f.py:2);fib (f.py:2);fib (f.py:1)", 5},
                            {"main (f.py:9);fib (f.py:2);fib (f.py:1)", 2},
                            {"main (f.py:9);fib (f.py:1)", 1}});
  const ReportFile& f = file_named(data, "f.py");
  CHECK(f.lines.at(2).total == 7);  // not 5 * 3 + 2
  CHECK(f.lines.at(2).self == 0);
  CHECK(f.lines.at(1).total == 8);
  CHECK(f.lines.at(1).self == 8);
  const ReportFunction& fib = function_named(data, "fib");
  CHECK(fib.counts.total == 8);
  CHECK(fib.counts.self == 8);
  CHECK(fib.hottest_line == 1);  // line 1 (8) beats line 2 (7)
  CHECK(function_named(data, "main").counts.total == 8);
}

TEST_CASE("html data: frames without a line count at their function only", "[html]") {
  ReportData data = report({{"main (m.py:5);compress (zlib.so);<native> deflate", 4},
                            {"main (m.py:5);load (m.py)", 6},
                            {"main (m.py:5)", 1}});
  const ReportFile& m = file_named(data, "m.py");
  CHECK(m.lines.size() == 1);  // only line 5
  CHECK(m.lines.at(5).total == 11);
  CHECK(m.lines.at(5).self == 1);
  const ReportFunction& load = function_named(data, "load");
  CHECK(load.counts.self == 6);
  CHECK(load.hottest_line == 0);
  const ReportFunction& deflate = function_named(data, "<native> deflate");
  CHECK(deflate.file == -1);
  CHECK(deflate.counts.self == 4);
  const ReportFile& zlib = file_named(data, "zlib.so");
  CHECK(zlib.lines.empty());
  CHECK(zlib.counts.total == 4);
  CHECK(zlib.counts.self == 0);
}

TEST_CASE("html data: the function table, by self count", "[html]") {
  ReportData data = report({{"main (a.py:1);hot (a.py:5)", 9},
                            {"main (a.py:1);warm (a.py:8)", 4},
                            {"main (a.py:1);warm (a.py:9)", 2},
                            {"main (a.py:1);hot (b.py:5)", 1}});
  // `hot` in two files is two functions.
  std::vector<std::uint32_t> order = functions_by_self(data);
  REQUIRE(order.size() == 4);
  CHECK(data.functions[order[0]].name == "hot");
  CHECK(data.files[static_cast<std::size_t>(data.functions[order[0]].file)].path == "a.py");
  CHECK(data.functions[order[1]].name == "warm");
  CHECK(data.functions[order[1]].counts.self == 6);
  CHECK(data.functions[order[1]].hottest_line == 8);
  CHECK(data.functions[order[2]].name == "hot");
  CHECK(data.functions[order[3]].name == "main");
  CHECK(data.functions[order[3]].counts.total == 16);
}

TEST_CASE("html data: a differential profile's changes per line", "[html]") {
  StackTree tree;
  tree.add_differential("main (a.py:1);f (a.py:2)", 10, 4);  // 6 before, 10 after
  tree.add_differential("main (a.py:1);g (a.py:3)", 2, -3);  // 5 before, 2 after
  tree.finish();
  ReportData data = build_report_data(tree);
  CHECK(data.differential);
  const ReportFile& a = file_named(data, "a.py");
  CHECK(a.lines.at(2).self_delta == 4);
  CHECK(a.lines.at(3).total_delta == -3);
  CHECK(a.lines.at(1).total_delta == 1);
  CHECK(a.lines.at(1).total == 12);
}

TEST_CASE("html data: --json has the documented shape", "[html]") {
  ReportData data = report({{"main (a.py:10);work (a.py:3)", 30}, {"thread (7): T;run (a.py:20)", 2}});
  std::string text;
  auto sink = OutputSink::into_string(text);
  write_report_json(data, *sink, false);
  sink->commit();
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["total"].GetInt() == 32);
  CHECK(doc["files"]["a.py"]["lines"]["10"]["total"].GetInt() == 30);
  CHECK(doc["files"]["a.py"]["lines"]["3"]["self"].GetInt() == 30);
  REQUIRE(doc["functions"].IsArray());
  CHECK(std::string(doc["functions"][0]["name"].GetString()) == "work");
  CHECK(doc["functions"][0]["line"].GetInt() == 3);
  bool thread_without_file = false;
  for (const auto& f : doc["functions"].GetArray())
    if (std::string(f["name"].GetString()) == "thread (7): T") thread_without_file = f["file"].IsNull();
  CHECK(thread_without_file);
}

TEST_CASE("html: header lines and source roots", "[html]") {
  std::string key, value;
  CHECK(parse_header_line("# rate: 1000 Hz", key, value));
  CHECK(key == "rate");
  CHECK(value == "1000 Hz");
  CHECK_FALSE(parse_header_line("#pyfold ticks=3", key, value));
  CHECK_FALSE(parse_header_line("# just a comment", key, value));
  std::vector<SourceRoot> roots = {parse_source_root("/srv/app=/home/me/app/"), parse_source_root("/=/chroot")};
  CHECK(map_source_path("/srv/app/x.py", roots) == "/home/me/app/x.py");
  CHECK(map_source_path("/srv/application.py", roots) == "/chroot/srv/application.py");
  CHECK_THROWS_AS(parse_source_root("/srv/app"), std::invalid_argument);
  CHECK_THROWS_AS(parse_source_root("=/x"), std::invalid_argument);
  std::string why;
  CHECK_FALSE(read_source("/nonexistent/pyfold/x.py", why));
  CHECK(why == "No such file or directory");
  CHECK_FALSE(read_source("<frozen importlib._bootstrap>", why));
}

TEST_CASE("html: the page holds its data once, escaped, and the script after it", "[html]") {
  StackTree tree;
  tree.add("</script><script>alert(1)</script> (<b>.py:1);x&y (a.py:2)", 3);
  tree.finish();
  ReportData data = build_report_data(tree);
  HtmlPageInfo info{"<title> & co", "p", "2026-01-01", {{"rate", "</script>"}}};
  HtmlOptions options;
  options.sources = false;
  std::string page;
  auto sink = OutputSink::into_string(page);
  render_html(tree, data, info, options, *sink);
  sink->commit();
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<title>&lt;title&gt; &amp; co</title>") != std::string::npos);
  const std::string open = "<script type=\"application/json\" id=\"pyfold-data\">";
  std::size_t start = page.find(open);
  REQUIRE(start != std::string::npos);
  CHECK(page.find(open, start + 1) == std::string::npos);
  std::size_t end = page.find("</script>", start);
  std::string json = page.substr(start + open.size(), end - start - open.size());
  CHECK(json.find('<') == std::string::npos);
  CHECK(json.find("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)") != std::string::npos);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["nodes"].GetInt() == 3);
  CHECK(std::string(doc["files"][0]["path"].GetString()) == "<b>.py");
  CHECK(std::string(doc["header"][0][1].GetString()) == "</script>");
  CHECK(page.find("</script>\n<script>\n") == end);
}

TEST_CASE("html: no arguments parse into the default options", "[html]") {
  const char* argv[] = {"pyflame-html"};
  HtmlCommandLine cli = parse_html_command_line(1, argv);
  HtmlOptions defaults;
  CHECK(cli.inputs.empty());
  CHECK(cli.output.empty());
  CHECK(cli.options.title == defaults.title);
  CHECK(cli.options.sources == defaults.sources);
  CHECK(cli.options.json == defaults.json);
  CHECK(cli.options.inverted == defaults.inverted);
  CHECK(cli.options.source_roots.empty());
  const char* roots[] = {"pyflame-html", "--source-root", "/a=/b", "--source-root", "/c=/d", "x.folded"};
  cli = parse_html_command_line(6, roots);
  REQUIRE(cli.options.source_roots.size() == 2);
  CHECK(cli.options.source_roots[1].to == "/d");
  CHECK(cli.inputs == std::vector<std::string>{"x.folded"});
}
