#include "pyfold/collapse/pstats.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "marshal_builder.hpp"
#include "pyfold/collapse/collapse.hpp"
#include "pyfold/io.hpp"
#include "pyfold/collapse/pstats_tree.hpp"
#include "pyfold/diagnostics.hpp"

using namespace pyfold;
using namespace pyfold::collapse;
using marshal_test::Bytes;
using marshal_test::Stat;

namespace {
struct Collect : StackSink {
  std::vector<std::pair<std::string, double>> lines;
  bool said_distinct = false;
  void stacks_distinct() override { said_distinct = lines.empty(); }
  void add(std::string_view stack, double count) override { lines.emplace_back(std::string(stack), count); }
  double total() const {
    double t = 0;
    for (auto& l : lines) t += l.second;
    return t;
  }
  double at(const std::string& stack) const {
    for (auto& l : lines)
      if (l.first == stack) return l.second;
    return 0;
  }
  // Sum of the lines whose leaf frame is `frame`.
  double self_of(const std::string& frame) const {
    double t = 0;
    for (auto& l : lines) {
      auto semi = l.first.rfind(';');
      std::string leaf = semi == std::string::npos ? l.first : l.first.substr(semi + 1);
      if (leaf == frame) t += l.second;
    }
    return t;
  }
  bool any_contains(const std::string& text) const {
    for (auto& l : lines)
      if (l.first.find(text) != std::string::npos) return true;
    return false;
  }
};

struct Result {
  Collect sink;
  PstatsReport report;
};
Result run(const std::string& bytes, PstatsOptions options = {}, const std::string& name = "t.pstats") {
  Result r;
  auto input = InputSource::from_string(bytes, name);
  r.report = collapse_pstats(*input, options, r.sink);
  return r;
}
std::string error_of(const std::string& bytes) {
  try {
    run(bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
std::vector<std::string> frames_of(const std::string& stack) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto semi = stack.find(';', start);
    out.push_back(stack.substr(start, semi - start));
    if (semi == std::string::npos) return out;
    start = semi + 1;
  }
}

// main → light → shared (0.1 s), main → heavy → shared (0.9 s); shared's own time 1.0 s, light/heavy 0.
std::vector<Stat> two_callers() {
  return {
      {"p.py", 1, "main", 1, 1, 0.5, 1.5, {}},
      {"p.py", 5, "light", 1, 1, 0.0, 0.1, {{"p.py", 1, "main", 1, 1, 0.0, 0.1}}},
      {"p.py", 9, "heavy", 1, 1, 0.0, 0.9, {{"p.py", 1, "main", 1, 1, 0.0, 0.9}}},
      {"p.py", 13, "shared", 2, 2, 1.0, 1.0,
       {{"p.py", 5, "light", 1, 1, 0.1, 0.1}, {"p.py", 9, "heavy", 1, 1, 0.9, 0.9}}},
  };
}

std::string frame_of(const std::string& file, int line, const std::string& name) {
  if (file == "~") return name;
  return name + " (" + file + ":" + std::to_string(line) + ")";
}

// The rules of pyfold-collapse(1) over a hand-built dump (times in s) and its folded stacks (µs): (a) each function's
// self time is its tottime, within one count a line; (b) a function that does not call itself is drawn for at most
// its cumtime, and an edge for at most its cumtime; (c) each pair of adjacent frames (markers aside) is an edge.
void check_rules(const std::vector<Stat>& stats, const Collect& sink) {
  auto is_marker = [](const std::string& f) { return !f.empty() && f.front() == '['; };
  std::map<std::pair<std::string, std::string>, double> edge_ct;
  for (const Stat& s : stats)
    for (const auto& c : s.callers) edge_ct[{frame_of(c.file, c.line, c.name), frame_of(s.file, s.line, s.name)}] += c.ct;
  for (const Stat& s : stats) {
    const std::string f = frame_of(s.file, s.line, s.name);
    double inclusive = 0, lines = 0;
    for (auto& l : sink.lines) {
      auto frames = frames_of(l.first);
      if (std::find(frames.begin(), frames.end(), f) != frames.end()) inclusive += l.second, ++lines;
    }
    INFO(f);
    CHECK(std::fabs(sink.self_of(f) - s.tt * 1e6) <= 1 + lines);
    bool recursive = false;
    for (const auto& c : s.callers) recursive = recursive || frame_of(c.file, c.line, c.name) == f;
    if (!recursive) CHECK(inclusive <= s.ct * 1e6 + 1 + lines);
  }
  std::map<std::pair<std::string, std::string>, double> drawn;
  for (auto& l : sink.lines) {
    auto frames = frames_of(l.first);
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
      if (is_marker(frames[i]) || is_marker(frames[i + 1])) continue;
      std::pair<std::string, std::string> e{frames[i], frames[i + 1]};
      INFO(l.first);
      CHECK(edge_ct.count(e) == 1);
      if (seen.insert(e).second) drawn[e] += l.second;
    }
  }
  for (auto& [e, t] : drawn) {
    INFO(e.first << " -> " << e.second);
    CHECK(t <= edge_ct[e] * 1e6 + 1 + double(sink.lines.size()));
  }
}
}  // namespace

TEST_CASE("pstats: applicable by the first bytes", "[pstats]") {
  CHECK(pstats_applicable("") == Applicable::need_more);
  CHECK(pstats_applicable("\xfb") == Applicable::need_more);
  CHECK(pstats_applicable("\xfb)\x03\xfa") == Applicable::yes);
  CHECK(pstats_applicable(std::string_view("{(\x03\x00\x00\x00s", 7)) == Applicable::yes);  // Python 2
  CHECK(pstats_applicable(std::string_view("{(\x03\x00", 4)) == Applicable::need_more);
  CHECK(pstats_applicable("{\"$schema\": 1}") == Applicable::no);  // speedscope JSON
  CHECK(pstats_applicable("main;a;b 3\n") == Applicable::no);
  CHECK(pstats_applicable(std::string_view("{0", 2)) == Applicable::yes);
  for (const auto& e : marshal_test::expected_dumps()) {
    std::string head = marshal_test::read_fixture(e.file).substr(0, 4096);
    INFO(e.file);
    CHECK(pstats_applicable(head) == Applicable::yes);
  }
}

TEST_CASE("pstats: two callers share a callee in proportion to their edge times", "[pstats]") {
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(two_callers()), o);
  const std::string main = "main (p.py:1)";
  CHECK(r.sink.at(main) == 500000);
  CHECK(r.sink.at(main + ";light (p.py:5);shared (p.py:13)") == 100000);
  CHECK(r.sink.at(main + ";heavy (p.py:9);shared (p.py:13)") == 900000);
  CHECK(r.sink.total() == 1500000);
  CHECK(r.report.warnings.empty());
  check_rules(two_callers(), r.sink);

  SECTION("--exact stops at the function with two callers") {
    o.exact = true;
    auto e = run(marshal_test::pstats_dump(two_callers()), o);
    CHECK(e.sink.at("[ambiguous callers];shared (p.py:13)") == 1000000);
    CHECK(e.sink.at(main) == 500000);
    CHECK(e.sink.total() == 1500000);
    check_rules(two_callers(), e.sink);
  }
  SECTION("--unit ms and ns") {
    o.unit = PstatsOptions::Unit::ms;
    CHECK(run(marshal_test::pstats_dump(two_callers()), o).sink.total() == 1500);
    o.unit = PstatsOptions::Unit::ns;
    CHECK(run(marshal_test::pstats_dump(two_callers()), o).sink.at(main) == 500000000);
  }
  SECTION("--weight calls: each function's calls in its contexts") {
    o.weight = PstatsOptions::Weight::calls;
    auto c = run(marshal_test::pstats_dump(two_callers()), o);
    CHECK(c.sink.at(main) == 1);
    CHECK(c.sink.at(main + ";light (p.py:5)") == 1);
    CHECK(c.sink.at(main + ";light (p.py:5);shared (p.py:13)") == 1);
    CHECK(c.sink.at(main + ";heavy (p.py:9);shared (p.py:13)") == 1);
    CHECK(c.sink.total() == 5);
  }
  SECTION("--prune folds small subtrees into the parent's self time") {
    o.prune = 0.2;  // light's subtree (0.1 of 1.5 s) is below 0.3 s
    auto p = run(marshal_test::pstats_dump(two_callers()), o);
    // main keeps its own time; light's subtree is main's [pruned] child, where shared, a large function (1.0 s,
    // over the 0.3 s threshold), keeps its own time as a leaf of its own
    CHECK(p.sink.at(main) == 500000);
    CHECK(p.sink.at(main + ";[pruned];shared (p.py:13)") == 100000);
    CHECK(p.sink.self_of("shared (p.py:13)") == 1000000);
    CHECK(p.sink.at(main + ";heavy (p.py:9);shared (p.py:13)") == 900000);
    CHECK_FALSE(p.sink.any_contains("light"));
    CHECK(p.sink.total() == 1500000);
  }
  SECTION("--max-depth cuts stacks in the middle: the leaf keeps its time") {
    o.max_depth = 2;
    auto d = run(marshal_test::pstats_dump(two_callers()), o);
    CHECK(d.sink.at("[frames cut];shared (p.py:13)") == 1000000);
    CHECK(d.sink.at(main) == 500000);
    CHECK(d.sink.total() == 1500000);
    o.max_depth = 3;  // deep enough
    auto d3 = run(marshal_test::pstats_dump(two_callers()), o);
    CHECK(d3.sink.at(main + ";heavy (p.py:9);shared (p.py:13)") == 900000);
    check_rules(two_callers(), d3.sink);
  }
}

TEST_CASE("pstats: direct recursion — the self edge is not drawn, fib keeps its time", "[pstats]") {
  // main → fib, fib → fib (self edge), fib → leaf (through recursion: edge ct covers all levels)
  std::vector<Stat> stats = {
      {"r.py", 1, "main", 1, 1, 0.1, 1.1, {}},
      {"r.py", 5, "fib", 1, 9, 0.6, 1.0, {{"r.py", 1, "main", 1, 1, 0.0, 1.0}, {"r.py", 5, "fib", 8, 0, 0.5, 0.9}}},
      {"r.py", 9, "leaf", 4, 4, 0.4, 0.4, {{"r.py", 5, "fib", 4, 4, 0.4, 0.4}}},
      // indirect recursion: ping ↔ pong under main? (kept out of the roots: called only by each other and main)
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  CHECK(r.sink.at("main (r.py:1)") == 100000);
  CHECK(r.sink.at("main (r.py:1);fib (r.py:5)") == 600000);
  CHECK(r.sink.at("main (r.py:1);fib (r.py:5);leaf (r.py:9)") == 400000);
  CHECK(r.sink.total() == 1100000);
  check_rules(stats, r.sink);
}

TEST_CASE("pstats: mutual recursion — ping and pong keep their own time, no edge over its cumtime", "[pstats]") {
  // As it ran: main (0.1 s) → ping (0.2 s) → pong (0.15 s) → ping (0.3 s) → pong (0.25 s). cumtimes count the
  // outermost call: ping 0.9, pong 0.7, the edge ping → pong 0.7, pong → ping 0.55.
  std::vector<Stat> stats = {
      {"m.py", 1, "main", 1, 1, 0.1, 1.0, {}},
      {"m.py", 5, "ping", 1, 2, 0.5, 0.9, {{"m.py", 1, "main", 1, 1, 0.2, 0.9}, {"m.py", 9, "pong", 1, 1, 0.3, 0.55}}},
      {"m.py", 9, "pong", 1, 2, 0.4, 0.7, {{"m.py", 5, "ping", 2, 1, 0.4, 0.7}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  check_rules(stats, r.sink);
  CHECK(r.sink.total() == 1000000);
  for (auto& l : r.sink.lines) CHECK(l.first.rfind("main (m.py:1)", 0) == 0);  // every stack from the root
  CHECK(r.sink.at("main (m.py:1);ping (m.py:5);pong (m.py:9)") > 0);
  CHECK(r.sink.any_contains("ping (m.py:5);pong (m.py:9);ping (m.py:5)"));  // recursion drawn, as it ran
}

TEST_CASE("pstats: re-entry through exec (imports) — the script's work stays out of the import machinery",
          "[pstats]") {
  // `python -m cProfile`: exec runs <module main> (1.0 s); main imports lib: import → exec (nested) → <module lib>.
  // The shape: work (0.7 s) was drawn under the import machinery, builtins.compile took others' time.
  std::vector<Stat> stats = {
      {"~", 0, "exec", 1, 2, 0.0, 1.0, {{"i.py", 1, "import", 1, 1, 0.0, 0.2}}},
      {"main.py", 1, "<module>", 1, 1, 0.05, 1.0, {{"~", 0, "exec", 1, 1, 0.05, 1.0}}},
      {"main.py", 3, "work", 1, 1, 0.7, 0.7, {{"main.py", 1, "<module>", 1, 1, 0.7, 0.7}}},
      {"i.py", 1, "import", 1, 1, 0.03, 0.25, {{"main.py", 1, "<module>", 1, 1, 0.03, 0.25}}},
      {"i.py", 9, "compile", 1, 1, 0.02, 0.02, {{"i.py", 1, "import", 1, 1, 0.02, 0.02}}},
      {"lib.py", 1, "<module>", 1, 1, 0.2, 0.2, {{"~", 0, "exec", 1, 1, 0.2, 0.2}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  check_rules(stats, r.sink);
  // (the frame of a ('~', 0, name) key is the name alone)
  CHECK(r.sink.at("exec;<module> (main.py:1);work (main.py:3)") == 700000);
  CHECK(r.sink.at("exec;<module> (main.py:1);import (i.py:1);compile (i.py:9)") == 20000);
  CHECK(r.sink.self_of("<module> (lib.py:1)") == 200000);
  CHECK(r.sink.total() == 1000000);
}

TEST_CASE("pstats: a callee whose caller edge says more than the caller's cumtime goes to [caller unknown]",
          "[pstats]") {
  // Two functions under one key (namedtuple constructors all are ('<string>', 1, '<lambda>')): the dump says the
  // key's cumtime is 1 ms but its edge to `new` 0.5 s. Drawing new under it would break the cumtime: it is not.
  std::vector<Stat> stats = {
      {"a.py", 1, "main", 1, 1, 0.1, 0.101, {}},
      {"<string>", 1, "<lambda>", 1, 1, 0.001, 0.001, {{"a.py", 1, "main", 1, 1, 0.001, 0.001}}},
      {"~", 0, "new", 9, 9, 0.5, 0.5, {{"<string>", 1, "<lambda>", 9, 9, 0.5, 0.5}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  check_rules(stats, r.sink);
  CHECK(r.sink.at("[caller unknown];new") == 500000);
  REQUIRE(r.report.warnings.size() == 2);  // and the roots do not cover Σ tottime
  CHECK_THAT(r.report.warnings[1], Catch::Contains("could not be placed under a caller"));
}

TEST_CASE("pstats: 3.12+ cProfile.run — the <string> module's tiny cumtime is raised to its call's time",
          "[pstats]") {
  // cProfile.run('main()') on 3.12+: exec → <string> <module> → main. The dump gives <string> (and the edge into
  // it) 1 µs, yet its edge to main is 1.0 s, inside exec's 1.0 s: main belongs under <string> under exec, not under
  // [caller unknown].
  std::vector<Stat> stats = {
      {"~", 0, "exec", 1, 1, 0.0, 1.0, {}},
      {"<string>", 1, "<module>", 1, 1, 0.000001, 0.000001, {{"~", 0, "exec", 1, 1, 0.000001, 0.000001}}},
      {"m.py", 1, "main", 1, 1, 0.2, 0.99, {{"<string>", 1, "<module>", 1, 1, 0.2, 0.99}}},
      {"m.py", 5, "work", 1, 1, 0.79, 0.79, {{"m.py", 1, "main", 1, 1, 0.79, 0.79}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  CHECK(r.sink.at("exec;<module> (<string>:1);main (m.py:1)") == 200000);
  CHECK(r.sink.at("exec;<module> (<string>:1);main (m.py:1);work (m.py:5)") == 790000);
  for (const auto& w : r.report.warnings) CHECK(w.find("could not be placed under a caller") == std::string::npos);
}

TEST_CASE("pstats: roots when no function has residual calls (a closed loop), and the profile module's fake root",
          "[pstats]") {
  // a ↔ b only: no residual calls, the SCC fallback enters at the larger cumtime.
  std::vector<Stat> loop = {
      {"l.py", 1, "a", 1, 1, 0.2, 1.0, {{"l.py", 2, "b", 1, 1, 0.2, 0.2}}},
      {"l.py", 2, "b", 1, 1, 0.8, 0.8, {{"l.py", 1, "a", 1, 1, 0.8, 0.8}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(loop), o);
  CHECK(r.sink.at("a (l.py:1)") == 200000);
  CHECK(r.sink.at("a (l.py:1);b (l.py:2)") == 800000);
}

TEST_CASE("pstats: caller values as ints, 4k-tuples; the 3.15 sampling marker; built-in labels", "[pstats]") {
  // Hand-built: int callers (profile module), an 8-tuple caller (old merged files), a ("__sampled__",) marker.
  Bytes b;
  b.dict(true);
  b.small_tuple(1).short_ascii("__sampled__").code('T');
  marshal_test::key(b, "~", 0, "<built-in method builtins.exec>");
  b.small_tuple(5).integer(1).integer(1).binary_float(0.25).binary_float(1.0).dict().end();
  marshal_test::key(b, "m.py", 3, "work");
  b.small_tuple(5).integer(2).integer(2).binary_float(0.5).binary_float(0.75).dict();
  marshal_test::key(b, "~", 0, "<built-in method builtins.exec>");
  b.small_tuple(8).integer(1).integer(1).binary_float(0.2).binary_float(0.3);
  b.integer(1).integer(1).binary_float(0.3).binary_float(0.45);
  b.end();
  marshal_test::key(b, "", 0, "len");
  b.small_tuple(5).integer(4).integer(4).binary_float(0.25).binary_float(0.25).dict();
  marshal_test::key(b, "m.py", 3, "work");
  b.integer(4);
  b.end();
  b.end();
  PstatsOptions o;
  o.prune = 0;
  auto r = run(b.out, o);
  const std::string exec = "<built-in method builtins.exec>";
  CHECK(r.sink.at(exec) == 250000);
  CHECK(r.sink.at(exec + ";work (m.py:3)") == 500000);
  CHECK(r.sink.at(exec + ";work (m.py:3);len") == 250000);
  CHECK(r.sink.total() == 1000000);
}

TEST_CASE("pstats: names are sanitised; non-ASCII kept", "[pstats]") {
  std::vector<Stat> stats = {{"d\xc3\xadr/m.py", 1, "f;g\nh", 1, 1, 0.001, 0.001, {}}};
  auto r = run(marshal_test::pstats_dump(stats));
  REQUIRE(r.sink.lines.size() == 1);
  CHECK(r.sink.lines[0].first == "f:g h (d\xc3\xadr/m.py:1)");
}

TEST_CASE("pstats: bad dumps give an error with the offset", "[pstats]") {
  CHECK(error_of(")\x01N") == "t.pstats: offset 0: not a pstats dump: the top-level object is not a dict");
  Bytes v;
  v.dict(true);
  marshal_test::key(v, "a.py", 1, "f");
  v.small_tuple(2).integer(1).integer(1).end();
  CHECK(error_of(v.out) == "t.pstats: offset 17: a pstats value is a 5-tuple (cc, nc, tt, ct, callers)");
  Bytes n;
  n.dict(true);
  marshal_test::key(n, "a.py", 1, "f");
  n.small_tuple(5).integer(1).short_ascii("x").integer(1).integer(1).dict().end().end();
  CHECK(error_of(n.out) == "t.pstats: offset 24: expected a number");
  Bytes c;
  c.dict(true);
  marshal_test::key(c, "a.py", 1, "f");
  c.small_tuple(5).integer(1).integer(1).integer(0).integer(0).dict();
  marshal_test::key(c, "a.py", 1, "f");
  c.small_tuple(3).integer(1).integer(1).integer(1).end().end();
  CHECK_THAT(error_of(c.out), Catch::Contains("a caller's value is a 4-tuple"));
  Bytes k;
  k.dict(true).small_tuple(3).integer(1).integer(1).integer(1).code('N').end();
  CHECK(error_of(k.out) == "t.pstats: offset 3: expected a string as the file name of a key");
}

TEST_CASE("pstats: real dumps from every Python conserve time exactly", "[pstats]") {
  auto dumps = marshal_test::expected_dumps();
  REQUIRE(dumps.size() >= 21);
  for (const auto& e : dumps) {
    DYNAMIC_SECTION(e.file) {
      const std::string bytes = marshal_test::read_fixture(e.file);
      const double expected_us = std::llround(e.tottime * 1e6);
      for (double prune : {0.0, 1e-4, 0.05}) {
        PstatsOptions o;
        o.prune = prune;
        auto r = run(bytes, o, e.file);
        INFO("prune " << prune);
        CHECK(r.sink.total() == expected_us);
        for (auto& line : r.sink.lines) {
          CHECK(line.second >= 1);
          CHECK(line.second == std::floor(line.second));
          // a recursion is drawn at most a few times round (each edge at most 4 times in a stack)
          auto frames = frames_of(line.first);
          std::map<std::pair<std::string, std::string>, int> edges;
          for (std::size_t i = 0; i + 1 < frames.size(); ++i) CHECK(++edges[{frames[i], frames[i + 1]}] <= 4);
        }
        // cProfile's accounting is consistent; the profile module's root leaves out its final setprofile call
        if (prune == 0 && e.file.rfind("cprofile", 0) == 0) CHECK(r.report.warnings.empty());
        if (e.file.rfind("threads-", 0) == 0) {  // 3.12+ records other threads: the roots do not cover Σ tottime
          REQUIRE(r.report.warnings.size() == 1);
          CHECK_THAT(r.report.warnings[0], Catch::Contains("differs from the sum of tottime"));
        }
      }
      // Other units: exact in their unit too.
      PstatsOptions ns;
      ns.unit = PstatsOptions::Unit::ns;
      CHECK(run(bytes, ns, e.file).sink.total() == double(std::llround(e.tottime * 1e9)));
    }
  }
}

TEST_CASE("pstats: real dumps — known chains, self time equals tottime, the shared function split", "[pstats]") {
  for (const auto& e : marshal_test::expected_dumps()) {
    if (e.file.rfind("cprofile-", 0) != 0 && e.file.rfind("profile-", 0) != 0) continue;  // prog.py dumps only
    DYNAMIC_SECTION(e.file) {
      PstatsOptions o;
      o.prune = 0;
      auto r = run(marshal_test::read_fixture(e.file), o, e.file);
      const std::string main = "main (prog.py:30)";
      CHECK(r.sink.any_contains(";" + main + ";heavy (prog.py:14);shared (prog.py:3)"));
      bool module_calls_main = false;  // the module's first line is 1 or 3 depending on the version
      for (auto& l : r.sink.lines)
        module_calls_main = module_calls_main || std::regex_search(l.first, std::regex("<module> \\(prog\\.py:[13]\\);main "));
      CHECK(module_calls_main);
      CHECK(r.sink.any_contains(main + ";light (prog.py:10);shared (prog.py:3)"));
      CHECK(r.sink.any_contains(main + ";fib (prog.py:18)"));
      CHECK(r.sink.any_contains(main + ";ping (prog.py:22);pong (prog.py:26)"));
      // shared: heavy's share ≈ 10x light's (the loop is 10x longer), its self time ≈ its whole tottime
      double heavy = 0, light = 0;
      for (auto& l : r.sink.lines) {
        if (l.first.find("heavy (prog.py:14);shared (prog.py:3)") != std::string::npos) heavy += l.second;
        if (l.first.find("light (prog.py:10);shared (prog.py:3)") != std::string::npos) light += l.second;
      }
      CHECK(heavy > 4 * light);
      CHECK(heavy + light > 0);

      SECTION("exact mode: shared has two callers: its stacks stop there, under [ambiguous callers]") {
        o.exact = true;
        auto x = run(marshal_test::read_fixture(e.file), o, e.file);
        CHECK(x.sink.any_contains("[ambiguous callers];shared (prog.py:3)"));
        for (auto& l : x.sink.lines)
          if (l.first.find("shared (prog.py:3)") != std::string::npos)
            CHECK(l.first == "[ambiguous callers];shared (prog.py:3)");
        CHECK(x.sink.total() == double(std::llround(e.tottime * 1e6)));
      }
      SECTION("weight calls: the calls of every function with time") {
        o.weight = PstatsOptions::Weight::calls;
        auto c = run(marshal_test::read_fixture(e.file), o, e.file);
        CHECK(c.sink.total() <= e.calls);  // primitive calls: recursive calls are not counted again
        CHECK(c.sink.total() > 0);
        CHECK(c.sink.self_of("fib (prog.py:18)") == 1);  // fib(12) once, from main
        CHECK(c.sink.self_of("shared (prog.py:3)") == 6);
      }
    }
  }
}

TEST_CASE("pstats: every truncation of a real dump is a clean InputError", "[pstats]") {
  for (const char* file : {"cprofile-3.11.pstats", "profile-3.11.pstats", "profile-2.7.pstats", "names-3.11.pstats"}) {
    std::string bytes = marshal_test::read_fixture(file);
    REQUIRE(!bytes.empty());
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      INFO(file << " cut at " << cut);
      REQUIRE_THAT(error_of(bytes.substr(0, cut)), Catch::StartsWith("t.pstats: offset "));
    }
    // Flipped bytes: an error or a result, never a crash.
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      std::string flipped = bytes;
      flipped[at] = char(flipped[at] ^ 0x5a);
      try {
        run(flipped);
      } catch (const InputError&) {
      }
    }
  }
}

TEST_CASE("pstats: non-ASCII and long names from a real dump", "[pstats]") {
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::read_fixture("names-3.11.pstats"), o);
  CHECK(r.sink.any_contains("funci\xc3\xb3n (m\xc3\xb3" "dulo/\xc3\xb1" "ames.py:2)"));
  CHECK(r.sink.any_contains(std::string(300, 'x') + " (<string>:1)"));
}

TEST_CASE("pstats: each function's self time in the folded output is its tottime (cProfile dumps)", "[pstats]") {
  std::ifstream in(marshal_test::fixture_dir() + "/tottime.txt");
  std::string row;
  std::map<std::string, Collect> folded;
  std::size_t checked = 0;
  while (std::getline(in, row)) {
    auto tab1 = row.find('\t'), tab2 = row.rfind('\t');
    std::string dump = row.substr(0, tab1), frame = row.substr(tab1 + 1, tab2 - tab1 - 1);
    double tottime_us = std::stod(row.substr(tab2 + 1));
    if (!folded.count(dump)) {
      PstatsOptions o;
      o.prune = 0;
      folded[dump] = run(marshal_test::read_fixture(dump), o, dump).sink;
    }
    INFO(dump << ": " << frame);
    // exact, within the rounding of each line (tottime.txt has whole µs: half a count more)
    double lines = 0;
    for (auto& l : folded[dump].lines) lines += l.first.size() >= frame.size() &&
                                                l.first.compare(l.first.size() - frame.size(), frame.size(), frame) == 0;
    CHECK(std::fabs(folded[dump].self_of(frame) - tottime_us) <= 1.5 + lines);
    ++checked;
  }
  CHECK(checked >= 100);
}

TEST_CASE("pstats: Profile.enable() in the middle of a call: the running functions are roots", "[pstats]") {
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::read_fixture("enable-3.11.pstats"), o);
  bool leaf_root = false;
  for (auto& l : r.sink.lines) leaf_root = leaf_root || l.first.rfind("leaf (", 0) == 0;
  CHECK(leaf_root);
  CHECK(r.sink.any_contains("<built-in method builtins.sum>"));
  CHECK(r.report.warnings.empty());
}

TEST_CASE("pstats: numbers as longs, int64 and text floats (marshal version 1, very long runs)", "[pstats]") {
  // (cc, nc, tt, ct) = (2**31 as a long, 2**32 as Python 2's int64, '0.5' as a text float, 0.5 as a binary float)
  Bytes b;
  b.dict(true);
  marshal_test::key(b, "big.py", 1, "hot");
  b.small_tuple(5).code('l').i32(3).u8(0).u8(0).u8(0).u8(0).u8(2).u8(0);
  b.code('I').i32(0).i32(1).code('f').u8(3).raw("0.5").binary_float(0.5).dict().end();
  b.end();
  auto r = run(b.out);
  CHECK(r.sink.at("hot (big.py:1)") == 500000);
  PstatsOptions calls;
  calls.weight = PstatsOptions::Weight::calls;
  CHECK(run(b.out, calls).sink.at("hot (big.py:1)") == 2147483648.0);  // primitive calls (cc)
}

TEST_CASE("pstats: duplicate keys (merged dumps) are summed, their caller edges merged", "[pstats]") {
  std::vector<Stat> stats = {
      {"m.py", 1, "main", 1, 1, 0.1, 0.5, {}},
      {"m.py", 5, "work", 1, 1, 0.1, 0.1, {{"m.py", 1, "main", 1, 1, 0.1, 0.1}}},
      {"m.py", 5, "work", 2, 2, 0.3, 0.3, {{"m.py", 1, "main", 2, 2, 0.3, 0.3}}},
  };
  PstatsOptions o;
  o.prune = 0;
  auto r = run(marshal_test::pstats_dump(stats), o);
  REQUIRE(r.sink.lines.size() == 2);
  CHECK(r.sink.at("main (m.py:1)") == 100000);
  CHECK(r.sink.at("main (m.py:1);work (m.py:5)") == 400000);
  o.weight = PstatsOptions::Weight::calls;
  CHECK(run(marshal_test::pstats_dump(stats), o).sink.at("main (m.py:1);work (m.py:5)") == 3);
  check_rules({{"m.py", 1, "main", 1, 1, 0.1, 0.5, {}},
               {"m.py", 5, "work", 3, 3, 0.4, 0.4, {{"m.py", 1, "main", 3, 3, 0.4, 0.4}}}},
              run(marshal_test::pstats_dump(stats), PstatsOptions{0}).sink);
}

TEST_CASE("pstats: an empty dump gives no stacks", "[pstats]") {
  Bytes b;
  b.dict(true).end();
  auto r = run(b.out);
  CHECK(r.sink.lines.empty());
  CHECK(r.report.warnings.empty());
}

TEST_CASE("pstats tree: a stack reuses only the previous stack's nodes of the same keys (tops and cuts apart)",
          "[pstats]") {
  using pstats::Function;
  using pstats::Top;
  std::vector<Function> fns(4);
  const char* names[] = {"a", "b", "c", "d"};
  for (std::size_t f = 0; f < fns.size(); ++f) fns[f].file = "f.py", fns[f].name = names[f], fns[f].line = 1;
  const std::uint32_t a = 0, b = 1, c = 2, d = 3;
  auto lines_of = [&](pstats::Tree& tree) {
    tree.finish(0, std::vector<double>(fns.size(), 0));
    std::vector<long long> counts;
    for (const auto& line : tree.out) counts.push_back(std::llround(line.amount));
    Collect sink;
    tree.write(counts, sink);
    return sink.lines;
  };
  using Lines = std::vector<std::pair<std::string, double>>;

  pstats::Tree tree(fns, 100);
  const std::uint32_t cba[] = {c, b, a}, dba[] = {d, b, a};
  tree.add(cba, 3, Top::root, 1);
  tree.add(cba, 3, Top::caller_unknown, 2);  // the same frames under a marker: other nodes
  tree.add(dba, 3, Top::root, 4);            // shares a;b with the first stack, not with the second
  tree.add(cba, 3, Top::root, 8);            // the first stack's node again
  CHECK(lines_of(tree) == Lines{{"a (f.py:1);b (f.py:1);c (f.py:1)", 9},
                                {"a (f.py:1);b (f.py:1);d (f.py:1)", 4},
                                {"[caller unknown];a (f.py:1);b (f.py:1);c (f.py:1)", 2}});

  pstats::Tree cut(fns, 3);
  const std::uint32_t dcba[] = {d, c, b, a};
  cut.add(dcba, 4, Top::root, 1);  // deeper than 3: a;[frames cut];d
  cut.add(cba, 3, Top::root, 2);   // shares a only
  cut.add(dcba, 4, Top::root, 4);
  CHECK(lines_of(cut) ==
        Lines{{"a (f.py:1);[frames cut];d (f.py:1)", 5}, {"a (f.py:1);b (f.py:1);c (f.py:1)", 2}});
}

TEST_CASE("pstats: the lines are said to differ only when their frame texts do; pyfold collapse's output is the "
          "same either way",
          "[pstats]") {
  // Two functions whose names differ only by a ';' (sanitised to ':') have the same frame text.
  const std::vector<Stat> same_text = {
      {"p.py", 1, "main", 1, 1, 0.5, 1.5, {}},
      {"p.py", 5, "f;g", 1, 1, 0.4, 0.4, {{"p.py", 1, "main", 1, 1, 0.4, 0.4}}},
      {"p.py", 5, "f:g", 1, 1, 0.6, 0.6, {{"p.py", 1, "main", 1, 1, 0.6, 0.6}}},
  };
  auto plain = run(marshal_test::pstats_dump(two_callers()));
  CHECK(plain.sink.said_distinct);
  auto clash = run(marshal_test::pstats_dump(same_text));
  CHECK_FALSE(clash.sink.said_distinct);
  CHECK(clash.sink.at("main (p.py:1);f:g (p.py:5)") > 0);

  // collapse_files writes distinct lines as they come, others through the table, which merges the two f:g lines.
  const std::string dir = std::filesystem::temp_directory_path() / ("pyfold-pstats-direct-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto& stats : {two_callers(), same_text}) {
    const std::string dump = dir + "/in.pstats", out = dir + "/out.folded";
    std::ofstream(dump, std::ios::binary) << marshal_test::pstats_dump(stats);
    CollapseOptions o;
    const CollapseReport direct = collapse_files(o, {dump}, out);
    std::ifstream in(out);
    const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CollapseReport read;
    const StackTable table = collapse_to_table(o, {dump}, read);
    std::string expected;
    auto sink = OutputSink::into_string(expected);
    write_folded(table, false, *sink);
    sink->commit();
    CHECK(written == expected);
    CHECK(direct.stacks_written == table.size());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("pstats tree: a tree that outgrows its child table finds every node again", "[pstats]") {
  using pstats::Function;
  using pstats::Top;
  // Two functions size the child table for a few dozen nodes; every path over {a, b} up to 10 frames deep makes
  // about two thousand, so the table grows several times (its slots placed again by path hashes made from the
  // nodes' keys).
  std::vector<Function> fns(2);
  fns[0].file = fns[1].file = "f.py", fns[0].name = "a", fns[1].name = "b", fns[0].line = fns[1].line = 1;
  std::map<std::string, double> expected;
  auto add_all = [&](pstats::Tree& tree, bool note) {
    for (std::uint32_t bits = 0; bits < (1u << 10); ++bits) {
      const std::size_t depth = 1 + bits % 10;
      std::uint32_t leaf_first[10];
      for (std::size_t k = 0; k < depth; ++k) leaf_first[k] = bits >> k & 1;
      tree.add(leaf_first, depth, Top::root, 1);
      if (!note) continue;
      std::string stack;
      for (std::size_t k = depth; k-- > 0;)
        stack += std::string(stack.empty() ? "" : ";") + (leaf_first[k] ? "b" : "a") + " (f.py:1)";
      expected[stack] += 1;
    }
  };
  pstats::Tree tree(fns, 100);
  add_all(tree, true);
  add_all(tree, false);  // every stack again: found, not made anew
  tree.finish(0, std::vector<double>(fns.size(), 0));
  std::vector<long long> counts;
  for (const auto& line : tree.out) counts.push_back(std::llround(line.amount));
  Collect sink;
  tree.write(counts, sink);
  std::map<std::string, double> got;
  for (const auto& [stack, count] : sink.lines) {
    CHECK(got.count(stack) == 0);
    got[stack] = count;
  }
  for (auto& [stack, count] : expected) count *= 2;
  CHECK(got == expected);
}

TEST_CASE("pstats tree: a tree fed on its own thread is the tree added to in place, over many batches", "[pstats]") {
  using pstats::Function;
  using pstats::Top;
  std::vector<Function> fns(5);
  const char* names[] = {"a", "b", "c", "d", "e"};
  for (std::size_t f = 0; f < fns.size(); ++f) fns[f].file = "f.py", fns[f].name = names[f], fns[f].line = 1;
  auto lines_of = [&](pstats::Tree& tree) {
    tree.finish(20, std::vector<double>(fns.size(), 30));  // some subtrees pruned: their order shows too
    std::vector<long long> counts;
    for (const auto& line : tree.out) counts.push_back(std::llround(line.amount));
    Collect sink;
    tree.write(counts, sink);
    return sink.lines;
  };
  pstats::Tree in_place(fns, 12);
  pstats::TreeFeed feed(fns, 12);
  // 40,000 stacks of up to 16 frames (several of the feed's batches), in an order no sort would give.
  std::uint64_t state = 12345;
  std::size_t frames = 0;
  for (int i = 0; i < 40000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::size_t depth = 1 + (state >> 33) % 16;
    std::uint32_t leaf_first[16];
    for (std::size_t k = 0; k < depth; ++k) leaf_first[k] = std::uint32_t((state >> (2 * k + 3)) % 5);
    const Top top = (state >> 60) == 0 ? Top::caller_unknown : Top::root;
    const double amount = double((state >> 40) % 100) / 7;
    in_place.add(leaf_first, depth, top, amount);
    feed.add(leaf_first, depth, top, amount);
    frames += depth;
    if (i == 30000) feed.ending_soon();  // smaller batches from here on: the same tree
  }
  REQUIRE(frames > 4 * 65536);
  const auto expected = lines_of(in_place);
  CHECK(expected.size() > 100);
  CHECK(lines_of(feed.finish()) == expected);
}
