#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "pyfold/render/speedscope.hpp"
#include "pyfold/render/speedscope_cli.hpp"

using namespace pyfold;

namespace {
class StringSink final : public OutputSink {
 public:
  StringSink() : OutputSink("<memory>") {}
  void commit() override { flush_buffer(); }
  std::string text;

 protected:
  void write_through(const char* data, std::size_t n) override { text.append(data, n); }
};

rapidjson::Document build(const std::vector<std::pair<std::string, double>>& stacks,
                          const SpeedscopeOptions& options = SpeedscopeOptions(), const std::string& name = "p") {
  SpeedscopeBuilder builder(options);
  for (const auto& [stack, count] : stacks) builder.add(stack, count);
  StringSink sink;
  builder.write(sink, name);
  sink.commit();
  rapidjson::Document doc;
  doc.Parse(sink.text.c_str(), sink.text.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

// Sample i of profile p as "name;name;..." (read back through the frame table).
std::string sample(const rapidjson::Document& doc, unsigned p, unsigned i) {
  std::string out;
  for (const auto& index : doc["profiles"][p]["samples"][i].GetArray()) {
    if (!out.empty()) out += ";";
    out += doc["shared"]["frames"][index.GetUint()]["name"].GetString();
  }
  return out;
}

std::string temp_file(const std::string& content) {
  char path[] = "/tmp/pyfold-speedscope-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

SpeedscopeCommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "pyflame-speedscope");
  return parse_speedscope_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("py-spy frames split into name, file and line", "[speedscope]") {
  FrameParts f = split_frame("main (app.py:10)");
  CHECK(f.function == "main");
  CHECK(f.file == "app.py");
  CHECK(f.line == 10);
  f = split_frame("malloc (libc.so.6)");
  CHECK((f.function == "malloc" && f.file == "libc.so.6" && f.line == 0));
  f = split_frame("load (/srv/my app (copy)/m.py:22)");
  CHECK((f.function == "load" && f.file == "/srv/my app (copy)/m.py" && f.line == 22));
  f = split_frame("run (C:\\x\\y.py:7)");
  CHECK((f.file == "C:\\x\\y.py" && f.line == 7));
  f = split_frame("f (a.py:x)");
  CHECK((f.function == "f" && f.file == "a.py:x" && f.line == 0));
  for (const char* whole : {"idle", "thread (12): MainThread", "thread (0x7f00)", "process 5:\"python x.py\"",
                            "f ()", "f(x)", "f (a.py:1) tail"}) {
    INFO(whole);
    f = split_frame(whole);
    CHECK((f.function == whole && f.file.empty() && f.line == 0));
  }
}

TEST_CASE("the recorder's root frames are recognised, look-alikes are not", "[speedscope]") {
  CHECK(is_thread_frame("thread (4321): MainThread"));
  CHECK(is_thread_frame("thread (0x7f3a2c1b2700)"));
  CHECK(is_thread_frame("thread (0x7f3a2c1b2700): Worker-1"));
  CHECK(is_thread_frame("thread (12)"));
  CHECK_FALSE(is_thread_frame("thread (abc): x"));
  CHECK_FALSE(is_thread_frame("thread ()"));
  CHECK_FALSE(is_thread_frame("thread (12) x"));
  CHECK_FALSE(is_thread_frame("thread (threading.py:10)"));
  CHECK(is_process_frame("process 4321:\"python app.py\""));
  CHECK_FALSE(is_process_frame("process (app.py:3)"));
  CHECK_FALSE(is_process_frame("process 12:python"));
}

TEST_CASE("a root task of record --async gets a profile, after the thread's root too", "[speedscope]") {
  CHECK(is_task_frame("<task> Task-1"));
  CHECK_FALSE(is_task_frame("<task> "));
  CHECK_FALSE(is_task_frame("task Task-1"));
  auto doc = build({{"thread (7): MainThread;<task> Task-1;main (a.py:1);<task> h;h (a.py:5)", 3},
                    {"thread (7): MainThread;<module> (a.py:9)", 2}, {"<task> Task-2;g (a.py:3)", 1}});
  const auto& profiles = doc["profiles"];
  REQUIRE(profiles.Size() == 3);
  CHECK(std::string(profiles[0]["name"].GetString()) == "thread (7): MainThread <task> Task-1");
  CHECK(sample(doc, 0, 0) == "main;<task> h;h");
  CHECK(std::string(profiles[1]["name"].GetString()) == "thread (7): MainThread");
  CHECK(std::string(profiles[2]["name"].GetString()) == "<task> Task-2");
}

TEST_CASE("units and intervals", "[speedscope]") {
  WeightUnit u;
  CHECK((parse_unit("milliseconds", u) && u == WeightUnit::milliseconds));
  CHECK_FALSE(parse_unit("samples", u));
  CHECK(parse_interval("1ms").nanoseconds == 1e6);
  CHECK(parse_interval("1ms").unit == WeightUnit::milliseconds);
  CHECK(parse_interval("10us").nanoseconds == 1e4);
  CHECK(parse_interval("10\xc2\xb5s").nanoseconds == 1e4);
  CHECK(parse_interval("0.5s").nanoseconds == 5e8);
  CHECK(parse_interval("100ns").unit == WeightUnit::nanoseconds);
  for (const char* bad : {"1", "ms", "-1ms", "0ms", "1 ms", "1min", "nanms", ""}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_interval(bad), std::invalid_argument);
  }
}

TEST_CASE("samples keep input order; frames are shared by (name, file, line)", "[speedscope]") {
  auto doc = build({{"main (a.py:1);f (a.py:2)", 3}, {"main (a.py:1);g (b.py:4)", 2}, {"main (a.py:1);f (a.py:2)", 1},
                    {"main (a.py:1);f (a.py:9)", 4}});
  CHECK(std::string(doc["$schema"].GetString()) == "https://www.speedscope.app/file-format-schema.json");
  CHECK(std::string(doc["exporter"].GetString()).rfind("pyfold@", 0) == 0);
  const auto& frames = doc["shared"]["frames"];
  REQUIRE(frames.Size() == 4);  // main, f:2, g, f:9
  CHECK(std::string(frames[1]["file"].GetString()) == "a.py");
  CHECK(frames[1]["line"].GetUint() == 2);
  CHECK(frames[3]["line"].GetUint() == 9);
  const auto& p = doc["profiles"][0];
  CHECK(std::string(p["type"].GetString()) == "sampled");
  CHECK(std::string(p["unit"].GetString()) == "none");
  CHECK(std::string(p["name"].GetString()) == "p");
  REQUIRE(p["samples"].Size() == 4);
  CHECK(sample(doc, 0, 0) == "main;f");
  CHECK(sample(doc, 0, 1) == "main;g");
  CHECK(p["samples"][0] == p["samples"][2]);  // the same frames, not merged with the first
  CHECK(p["weights"][1].GetDouble() == 2);
  CHECK(p["startValue"].GetDouble() == 0);
  CHECK(p["endValue"].GetDouble() == 10);
}

TEST_CASE("a frame shared with the previous line only up to a prefix of its text is a different frame",
          "[speedscope]") {
  auto doc = build({{"main (a.py:1);fa (a.py:2)", 1}, {"main (a.py:1);f", 1}, {"main (a.py:1);f;x", 1},
                    {"main (a.py:10)", 1}, {"main (a.py:1)", 1}, {"", 1}, {"a;;b;", 1}});
  CHECK(sample(doc, 0, 0) == "main;fa");
  CHECK(sample(doc, 0, 1) == "main;f");
  CHECK(sample(doc, 0, 2) == "main;f;x");
  CHECK(doc["shared"]["frames"][doc["profiles"][0]["samples"][3][0].GetUint()]["line"].GetUint() == 10);
  CHECK(doc["shared"]["frames"][doc["profiles"][0]["samples"][4][0].GetUint()]["line"].GetUint() == 1);
  CHECK(doc["profiles"][0]["samples"][5].Size() == 0);
  CHECK(sample(doc, 0, 6) == "a;;b");  // trailing ';' dropped as flamegraph.pl does; an empty frame kept
}

TEST_CASE("one profile per thread root, named after it, roots removed, the busiest active", "[speedscope]") {
  std::vector<std::pair<std::string, double>> stacks = {
      {"process 7:\"python app.py\";thread (7): MainThread;main (a.py:1)", 2},
      {"process 7:\"python app.py\";thread (8): Worker;run (w.py:3)", 5},
      {"process 7:\"python app.py\";thread (7): MainThread;main (a.py:1);f (a.py:2)", 1},
      {"thread (0x9): T;main (a.py:1)", 1},
      {"plain (p.py:1)", 1}};
  auto doc = build(stacks);
  const auto& profiles = doc["profiles"];
  REQUIRE(profiles.Size() == 4);
  CHECK(std::string(profiles[0]["name"].GetString()) == "process 7:\"python app.py\" thread (7): MainThread");
  CHECK(std::string(profiles[1]["name"].GetString()) == "process 7:\"python app.py\" thread (8): Worker");
  CHECK(std::string(profiles[2]["name"].GetString()) == "thread (0x9): T");
  CHECK(std::string(profiles[3]["name"].GetString()) == "p");  // no root: the file's name
  CHECK(doc["activeProfileIndex"].GetUint() == 1);
  REQUIRE(profiles[0]["samples"].Size() == 2);
  CHECK(sample(doc, 0, 0) == "main");
  CHECK(sample(doc, 0, 1) == "main;f");
  CHECK(profiles[0]["endValue"].GetDouble() == 3);
  for (const auto& frame : doc["shared"]["frames"].GetArray()) {
    std::string name = frame["name"].GetString();
    CHECK(name.rfind("thread", 0) == std::string::npos);
    CHECK(name.rfind("process", 0) == std::string::npos);
  }

  SpeedscopeOptions one;
  one.split_threads = false;
  auto merged = build(stacks, one);
  REQUIRE(merged["profiles"].Size() == 1);
  CHECK(sample(merged, 0, 0) == "process 7:\"python app.py\";thread (7): MainThread;main");
  CHECK(merged["profiles"][0]["samples"].Size() == 5);
}

TEST_CASE("an interval turns counts into times; the unit option names the unit", "[speedscope]") {
  SpeedscopeOptions o;
  o.interval = parse_interval("1ms");
  auto doc = build({{"a", 3}, {"b", 15}}, o);
  CHECK(std::string(doc["profiles"][0]["unit"].GetString()) == "milliseconds");
  CHECK(doc["profiles"][0]["weights"][1].GetDouble() == 15);
  o.unit = WeightUnit::seconds;
  doc = build({{"a", 3}, {"b", 15}}, o);
  CHECK(std::string(doc["profiles"][0]["unit"].GetString()) == "seconds");
  CHECK(doc["profiles"][0]["weights"][0].GetDouble() == 0.003);
  CHECK(doc["profiles"][0]["endValue"].GetDouble() == 0.018);  // one rounding, not 0.018000000000000002
  SpeedscopeOptions us;
  us.unit = WeightUnit::microseconds;
  doc = build({{"a", 3}}, us);
  CHECK(std::string(doc["profiles"][0]["unit"].GetString()) == "microseconds");
  CHECK(doc["profiles"][0]["weights"][0].GetDouble() == 3);
  SpeedscopeOptions bad;
  bad.unit = WeightUnit::bytes;
  bad.interval = parse_interval("1ms");
  CHECK_THROWS_AS(validate(bad), std::invalid_argument);
}

TEST_CASE("names are valid UTF-8 JSON strings", "[speedscope]") {
  auto doc = build({{"say \"hi\\\" (a.py:1);bad \xff utf8;tab\there", 1}}, SpeedscopeOptions(), "n\xfe");
  CHECK(sample(doc, 0, 0) == "say \"hi\\\";bad \xef\xbf\xbd utf8;tab\there");
  CHECK(std::string(doc["name"].GetString()) == "n\xef\xbf\xbd");
}

TEST_CASE("the stage reads files in order, counts invalid lines, warns on differential input", "[speedscope]") {
  std::string a = temp_file("main (a.py:1);f (a.py:2) 1\nno count here\nmain (a.py:1) 2 3\n");
  std::string b = temp_file("\x1f\x8b");  // truncated gzip: an IoError, not garbage
  std::string out = a + ".json";
  SpeedscopeOptions o;
  SpeedscopeReport report = flame_speedscope(o, {a, a}, out);
  CHECK(report.stacks == 4);
  CHECK(report.invalid_lines == 2);
  REQUIRE(report.warnings.size() == 2);
  CHECK(report.warnings[0] == "ignored 2 invalid lines (first: " + a + ":2: no count)");
  CHECK(report.warnings[1].find("differential input (two counts per line, first at " + a + ":3)") == 0);
  rapidjson::Document doc;
  std::string text = read_file(out);
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["name"].GetString()) == a.substr(a.rfind('/') + 1));
  CHECK(doc["profiles"][0]["weights"][1].GetDouble() == 3);  // the second count
  CHECK(doc["profiles"][0]["samples"].Size() == 4);

  o.strict = true;
  CHECK_THROWS_WITH(flame_speedscope(o, {a}, out + "2"), a + ":2: no count");
  CHECK(read_file(out + "2").empty());  // nothing written
  CHECK_THROWS_AS(flame_speedscope(SpeedscopeOptions(), {b}, out + "3"), IoError);

  std::string empty = temp_file("# only a comment\n\nx 0\n");
  SpeedscopeReport none = flame_speedscope(SpeedscopeOptions(), {empty}, out + "4");
  CHECK(none.empty);
  CHECK(read_file(out + "4").empty());
  for (const std::string& f : {a, b, out, empty}) std::remove(f.c_str());
}

TEST_CASE("the default name is the first input's base name, or stdin", "[speedscope]") {
  CHECK(default_profile_name({}) == "stdin");
  CHECK(default_profile_name({"-"}) == "stdin");
  CHECK(default_profile_name({"/x/y/app.folded", "b"}) == "app.folded");
}

TEST_CASE("pyflame-speedscope's command line", "[speedscope][cli]") {
  SpeedscopeCommandLine cli = parse({});
  SpeedscopeOptions defaults;
  CHECK(cli.options.name == defaults.name);
  CHECK(cli.options.unit == defaults.unit);
  CHECK(cli.options.interval.nanoseconds == defaults.interval.nanoseconds);
  CHECK(cli.options.split_threads == defaults.split_threads);
  CHECK(cli.options.pretty == defaults.pretty);
  CHECK(cli.options.strict == defaults.strict);
  CHECK(cli.inputs.empty());
  CHECK(cli.output.empty());

  cli = parse({"--unit", "seconds", "--interval", "10ms", "--no-split", "--strict", "--pretty", "--name", "x", "-o",
               "out.json", "a", "b"});
  CHECK(cli.options.unit == WeightUnit::seconds);
  CHECK(cli.options.interval.nanoseconds == 1e7);
  CHECK_FALSE(cli.options.split_threads);
  CHECK((cli.options.strict && cli.options.pretty));
  CHECK(cli.options.name == "x");
  CHECK(cli.output == "out.json");
  CHECK(cli.inputs == std::vector<std::string>{"a", "b"});

  CHECK_THROWS_AS(parse({"--unit", "samples"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"--interval", "1"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"--unit", "bytes", "--interval", "1ms"}), std::invalid_argument);
  CHECK(parse({"--help"}).help_text.find("--interval") != std::string::npos);
}
