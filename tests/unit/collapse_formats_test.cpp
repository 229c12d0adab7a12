#include <catch2/catch.hpp>

#include "collapse_test_util.hpp"
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pyfold/collapse/austin.hpp"
#include "pyfold/collapse/collapse.hpp"
#include "pyfold/collapse/folded_input.hpp"
#include "pyfold/collapse/speedscope.hpp"

using namespace pyfold;
using namespace pyfold::collapse;
using Lines = std::vector<std::string>;

namespace {
Lines austin(const std::string& text, bool threads = false, std::vector<std::string>* warnings = nullptr,
             InvalidLineLog* log = nullptr) {
  StackTable table;
  InvalidLineLog own;
  AustinOptions o;
  o.threads = threads;
  auto input = InputSource::from_string(text, "a.austin");
  auto w = collapse_austin(*input, o, table, log ? *log : own);
  if (warnings) *warnings = w;
  return collapse_test::lines(table);
}

Lines speedscope(const std::string& json, SpeedscopeInputOptions o = {}, std::vector<std::string>* warnings = nullptr) {
  StackTable table;
  auto input = InputSource::from_string(json, "p.json");
  auto w = collapse_speedscope(*input, o, table);
  if (warnings) *warnings = w;
  return collapse_test::lines(table);
}

Lines folded(const std::string& text, InvalidLineLog* log = nullptr) {
  StackTable table;
  InvalidLineLog own;
  auto input = InputSource::from_string(text, "in.folded");
  collapse_folded(*input, table, log ? *log : own);
  return collapse_test::lines(table);
}
}  // namespace

TEST_CASE("austin: frames split from the right, metadata skipped, P/T frames only with --threads", "[austin]") {
  std::string text =
      "# austin: 3.6.0\n# mode: wall\n\n"
      "P42;T0:7f01;/app/m.py:<module>:3;<frozen importlib._bootstrap>:_find_and_load:1176 100\n"
      "P42;T0:7f01;C:\\app\\w.py:work:9 50\n"
      "P42;T0:7f01;/app/m.py:<module>:3;<frozen importlib._bootstrap>:_find_and_load:1176 20\n"
      "# duration: 170\n";
  CHECK(austin(text) == Lines{"<module> (/app/m.py:3);_find_and_load (<frozen importlib._bootstrap>:1176) 120",
                              "work (C:\\app\\w.py:9) 50"});
  CHECK(austin(text, true)[1] == "process 42;thread 0:7f01;work (C:\\app\\w.py:9) 50");
}

TEST_CASE("austin: full mode reads the time; :INVALID: dropped and counted; zero and negative metrics", "[austin]") {
  std::vector<std::string> warnings;
  CHECK(austin("P1;T1;/a.py:f:1 300,0,-4096\nP1;T1;/a.py:f:1;:INVALID:;/a.py:g:2 10\nP1;T1;/a.py:f:1 0\n"
               "P1;T1;/a.py:f:1 -5\nP1;T1;:GC: 7\n",
               false, &warnings) == Lines{"f (/a.py:1) 300", "f (/a.py:1);g (/a.py:2) 10", "[GC] 7"});
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] == "austin: dropped :INVALID: frames from 1 sample");
  CHECK(warnings[1].find("skipped 1 samples with a negative metric") != std::string::npos);
}

TEST_CASE("austin: malformed lines are counted with source:line, fatal when strict", "[austin]") {
  InvalidLineLog log;
  CHECK(austin("P1;T1;/a.py:f:1 x\nP1;T1;/a.py:f:1 4\nP1;T1;nocolons 2\nQ1 3\nP1;T1;/a.py:f:one 1\n", false, nullptr,
               &log) == Lines{"f (/a.py:1) 4"});
  CHECK(log.count() == 4);
  CHECK(log.first() == "a.austin:1: no metric after the last space");
  InvalidLineLog strict(true);
  CHECK_THROWS_WITH(austin("P1;T1;nocolons 2\n", false, nullptr, &strict),
                    "a.austin:1: a frame is not file:function:line");
}

TEST_CASE("austin: recognised from metadata or a first sample line", "[austin][guess]") {
  CHECK(austin_applicable("# austin: 3.6.0\n") == Applicable::yes);
  CHECK(austin_applicable("\nP12;T0:1;a.py:f:1 5\n") == Applicable::yes);
  CHECK(austin_applicable("main;f 5\n") == Applicable::no);
  CHECK(austin_applicable("") == Applicable::need_more);
}

namespace {
const char* kSampled = R"({"$schema":"https://www.speedscope.app/file-format-schema.json",
  "shared":{"frames":[{"name":"main","file":"/a.py","line":1},{"name":"f","file":"/a.py"},{"name":"g"}]},
  "profiles":[{"type":"sampled","name":"t1","unit":"none","startValue":0,"endValue":9,
               "samples":[[0,1],[0,1,2],[0,1]],"weights":[2,3,4]},
              {"type":"sampled","name":"t2","unit":"none","startValue":0,"endValue":1,"samples":[[2]],"weights":[1]}],
  "activeProfileIndex":1})";
}

TEST_CASE("speedscope: sampled profiles; the active one by default, --profile N, --profile all", "[speedscope]") {
  std::vector<std::string> warnings;
  CHECK(speedscope(kSampled, {}, &warnings) == Lines{"g 1"});
  REQUIRE(warnings.size() == 1);
  SpeedscopeInputOptions first;
  first.profile = 0;
  CHECK(speedscope(kSampled, first) == Lines{"main (/a.py:1);f (/a.py) 6", "main (/a.py:1);f (/a.py);g 3"});
  SpeedscopeInputOptions all;
  all.profile = SpeedscopeInputOptions::kAll;
  all.threads = true;
  CHECK(speedscope(kSampled, all) ==
        Lines{"t1;main (/a.py:1);f (/a.py) 6", "t1;main (/a.py:1);f (/a.py);g 3", "t2;g 1"});
  SpeedscopeInputOptions missing;
  missing.profile = 5;
  CHECK_THROWS_AS(speedscope(kSampled, missing), InputError);
}

TEST_CASE("speedscope: evented profiles give the time between events to the open stack", "[speedscope]") {
  const char* json = R"({"shared":{"frames":[{"name":"a"},{"name":"b"}]},"profiles":[{"type":"evented","name":"e",
    "unit":"milliseconds","startValue":0,"endValue":20,"events":[{"type":"O","frame":0,"at":0},
    {"type":"O","frame":1,"at":2},{"type":"C","frame":1,"at":5.5},{"type":"C","frame":0,"at":10}]}]})";
  // Whole counts of --unit (µs by default; ms: 6.5 and 3.5 ms round with the remainder carried, total 10 kept)
  CHECK(speedscope(json) == Lines{"a 6500", "a;b 3500"});
  SpeedscopeInputOptions ms;
  ms.unit = TimeUnit::ms;
  CHECK(speedscope(json, ms) == Lines{"a 6", "a;b 4"});
  // pyinstrument's --renderer speedscope: seconds, fractional intervals
  const char* seconds = R"({"shared":{"frames":[{"name":"main"},{"name":"work"}]},"profiles":[{"type":"evented",
    "name":"p","unit":"seconds","startValue":0,"endValue":0.415,"events":[{"type":"O","frame":0,"at":0},
    {"type":"O","frame":1,"at":0.0001},{"type":"C","frame":1,"at":0.2076},{"type":"C","frame":0,"at":0.415}]}]})";
  CHECK(speedscope(seconds) == Lines{"main 207500", "main;work 207500"});
  // A unit that is not a time: the intervals as they are
  std::string none = std::string(json);
  none.replace(none.find("milliseconds"), 12, "none");
  CHECK(speedscope(none) == Lines{"a 6.5", "a;b 3.5"});
}

TEST_CASE("speedscope: malformed files are errors naming the place", "[speedscope]") {
  CHECK_THROWS_WITH(speedscope("{\"shared\": {"), Catch::Contains("p.json: offset"));
  CHECK_THROWS_WITH(speedscope(R"({"shared":{"frames":[]},"profiles":[{"type":"sampled","samples":[[3]],"weights":[1]}]})"),
                    Catch::Contains("profiles[0].samples[0]: not an index into shared.frames"));
  CHECK_THROWS_WITH(
      speedscope(R"({"shared":{"frames":[{"name":"a"},{"name":"b"}]},"profiles":[{"type":"evented","events":[
        {"type":"O","frame":0,"at":0},{"type":"C","frame":1,"at":1}]}]})"),
      Catch::Contains("closes a frame that is not the innermost open one"));
  CHECK_THROWS_WITH(speedscope("[1,2]"), Catch::Contains("not a speedscope file"));
}

TEST_CASE("speedscope: recognised by its schema or its keys", "[speedscope][guess]") {
  CHECK(speedscope_applicable(kSampled, true) == Applicable::yes);
  CHECK(speedscope_applicable(R"({"profiles":[],"shared":{}})", true) == Applicable::yes);
  CHECK(speedscope_applicable(R"({"traceEvents":[]})", true) == Applicable::no);
  CHECK(speedscope_applicable(R"({"x":)", false) == Applicable::need_more);
  CHECK(speedscope_applicable("main;f 1\n", true) == Applicable::no);
}

TEST_CASE("folded input: normalised and merged; invalid and differential lines counted", "[folded-input]") {
  InvalidLineLog log;
  CHECK(folded(";a;;b; 2\na;b 3  \r\n# note\n\nno count\nx 1 2\nc 0\n", &log) == Lines{"a;b 5"});
  CHECK(log.count() == 2);
  CHECK(log.first() == "in.folded:5: no count");
  CHECK(folded_applicable("# c\n\nmain;f 3\n", false) == Applicable::yes);
  CHECK(folded_applicable("main;f 3", false) == Applicable::need_more);
  CHECK(folded_applicable("main;f 3", true) == Applicable::yes);
  CHECK(folded_applicable("main;f 1 2\n", false) == Applicable::no);
  CHECK(folded_applicable("{\"a\": 1}\n", false) == Applicable::no);
}

TEST_CASE("--format names a format the input is not: the error says what was expected and what it looks like",
          "[collapse]") {
  const std::string dir = std::filesystem::temp_directory_path() / ("pyfold-format-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string json = dir + "/app.json";
  std::ofstream(json) << R"({"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","samples":[[0]]}]})";
  CollapseOptions o;
  o.format = "pstats";
  CollapseReport report;
  try {
    collapse_to_table(o, {json}, report);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(json + ": --format pstats expects pstats input, but it looks like speedscope"));
  }
  o.format = "perf";  // a line format: nothing read, and a warning saying why
  auto table = collapse_to_table(o, {json}, report);
  CHECK(table.size() == 0);
  bool said = false;
  for (auto& w : report.warnings) said = said || w.find("--format perf expects perf input, but it looks like speedscope") != std::string::npos;
  CHECK(said);
  o.format = "speedscope";  // the right format: no such message
  CollapseReport right;
  CHECK(collapse_to_table(o, {json}, right).size() == 1);
  CHECK(right.warnings.empty());
  std::filesystem::remove_all(dir);
}
