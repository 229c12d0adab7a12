#include <catch2/catch.hpp>

#include "collapse_test_util.hpp"
#include "pyfold/collapse/perf.hpp"

using namespace pyfold;
using namespace pyfold::collapse;
using Lines = std::vector<std::string>;

namespace {
Lines fold(const std::string& text, const PerfOptions& options = {}, std::vector<std::string>* warnings = nullptr,
           InvalidLineLog* log = nullptr) {
  StackTable table;
  InvalidLineLog own;
  auto input = InputSource::from_string(text, "perf.txt");
  auto w = collapse_perf(*input, options, table, log ? *log : own);
  if (warnings) *warnings = w;
  return collapse_test::lines(table);
}

const char* kTwoSamples =
    "# ========\n"
    "# cmdline : /usr/bin/perf record -g ./spin\n"
    "spin 15309 289.307629:     250000 cpu-clock:pppH: \n"
    "\t          1149 leaf_work+0x19 (/tmp/spin)\n"
    "\t          11d6 main+0x26 (/tmp/spin)\n"
    "\t         29d90 __libc_start_call_main+0x80 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
    "\n"
    "spin 15309 289.308629:     250000 cpu-clock:pppH: \n"
    "\tffffffff8158e846 filemap_map_pages+0x266 ([kernel.kallsyms])\n"
    "\t      7ffd9f5d4d7000 [unknown] ([unknown])\n"
    "\t          108a40 [unknown] (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
    "\n";
}  // namespace

TEST_CASE("perf: frames reversed to root first under comm, the period as count, +0x offsets stripped", "[perf]") {
  CHECK(fold(kTwoSamples) == Lines{"spin;__libc_start_call_main;main;leaf_work 250000",
                                   "spin;[libc.so.6];[unknown];filemap_map_pages 250000"});
}

TEST_CASE("perf: --pid, --tid, --kernel, --addrs as stackcollapse-perf.pl", "[perf]") {
  PerfOptions o;
  o.tid = true;
  o.kernel = true;
  CHECK(fold(kTwoSamples, o)[1] == "spin-?/15309;[libc.so.6];[unknown];filemap_map_pages_[k] 250000");
  PerfOptions pid;
  pid.pid = true;
  CHECK(fold("java 24636/25607 [000] 94564.109216: 100 cycles:\n\t1 f (/x)\n\n", pid) == Lines{"java-24636;f 100"});
  PerfOptions addrs;
  addrs.addrs = true;
  CHECK(fold(kTwoSamples, addrs)[1] == "spin;[libc.so.6 <108a40>];[unknown <7ffd9f5d4d7000>];filemap_map_pages 250000");
}

TEST_CASE("perf: comm with spaces, no period, period 0 count 1; identical stacks merge", "[perf]") {
  CHECK(fold("V8 WorkerThread 25607 4794564.109216: cycles:\n\t1 f (/x)\n\n"
             "V8 WorkerThread 25607 4794564.109217: 0 cycles:\n\t1 f (/x)\n\n") ==
        Lines{"V8_WorkerThread;f 2"});
}

TEST_CASE("perf: a one-letter comm is read as perl reads it (the shortest comm is two bytes)", "[perf]") {
  CHECK(fold("a 1 1.0: 5 cycles:\n\t1 f (/x)\n\n") == Lines{"a_1_1.0:;f 5"});
}

TEST_CASE("perf: symbol tidying: '(' cut (not Go, not anonymous namespace), quotes, ';', inline chains", "[perf]") {
  std::string text =
      "app 1 1.0: 1 cycles:\n"
      "\t1 foo(int, char) (/bin/a)\n"
      "\t2 net/http.(*Client).Do (/bin/a)\n"
      "\t3 (anonymous namespace)::bar(x) (/bin/a)\n"  // starts with '(': skipped, as a process name
      "\t3 ns::(anonymous namespace)::baz(x) (/bin/a)\n"
      "\t4 RegExp:[&<>\"'] (/tmp/perf-1.map)\n"
      "\t5 a;b (/bin/a)\n"
      "\t6 outer->inner (/bin/a)\n\n";
  CHECK(fold(text) ==
        Lines{"app;outer;inner_[i];a:b;RegExp:[&<>];ns::(anonymous namespace)::baz;net/http.(*Client).Do;foo 1"});
  PerfOptions jit;
  jit.jit = true;
  CHECK(fold(text, jit)[0].find("RegExp:[&<>]_[j]") != std::string::npos);
}

TEST_CASE("perf: Python trampoline frames become qualname (file); --python-only and --native-leaf", "[perf]") {
  std::string text =
      "python3.13 14887 [001] 5.0: 10309278 cpu-clock:pppH:\n"
      "\t7f00 PyLong_FromLong+0x10 (/usr/lib/libpython3.13.so)\n"
      "\t85 py::leaf:/tmp/pf/small.py+0x5 (/tmp/jitted-14887-206.so)\n"
      "\t7f01 _PyEval_EvalFrameDefault+0x99 (/usr/lib/libpython3.13.so)\n"
      "\t85 py::Cls.run:<frozen importlib._bootstrap>+0x5 (/tmp/perf-14887.map)\n"
      "\t7f02 main+0x1 (/usr/bin/python3.13)\n\n";
  CHECK(fold(text) == Lines{"python3.13;main;Cls.run (<frozen importlib._bootstrap>);_PyEval_EvalFrameDefault;"
                            "leaf (/tmp/pf/small.py);PyLong_FromLong 10309278"});
  PerfOptions py;
  py.python_only = true;
  CHECK(fold(text, py) == Lines{"python3.13;Cls.run (<frozen importlib._bootstrap>);leaf (/tmp/pf/small.py) 10309278"});
  py.native_leaf = true;
  CHECK(fold(text, py) ==
        Lines{"python3.13;Cls.run (<frozen importlib._bootstrap>);leaf (/tmp/pf/small.py);PyLong_FromLong 10309278"});
  PerfOptions jit;
  jit.jit = true;  // Python frames from perf-PID.map are not marked _[j]
  CHECK(fold(text, jit)[0].find("_[j]") == std::string::npos);
}

TEST_CASE("perf: only the first event type unless --event-filter; a warning says so", "[perf]") {
  std::string text =
      "app 1 1.0: 5 cycles:\n\t1 f (/x)\n\n"
      "app 1 1.1: 7 instructions:\n\t1 g (/x)\n\n"
      "app 1 1.2: 5 cycles:\n\t1 f (/x)\n\n";
  std::vector<std::string> warnings;
  CHECK(fold(text, {}, &warnings) == Lines{"app;f 10"});
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("cycles") != std::string::npos);
  PerfOptions o;
  o.event_filter = "instructions";
  CHECK(fold(text, o, &warnings) == Lines{"app;g 7"});
  CHECK(warnings.empty());
}

TEST_CASE("perf: the last sample counts without a blank line; unknown lines are counted with their number", "[perf]") {
  InvalidLineLog log;
  CHECK(fold("app 1 1.0: 5 cycles:\n\t1 f (/x)\n garbage\n\t2 g (/x)", {}, nullptr, &log) == Lines{"app;g;f 5"});
  CHECK(log.count() == 1);
  CHECK(log.first() == "perf.txt:3: not a perf script header or frame line");
  InvalidLineLog strict(true);
  CHECK_THROWS_AS(fold("app 1 1.0: 5 cycles:\n garbage\n", {}, nullptr, &strict), InputError);
}

TEST_CASE("perf: recognised from a header and a frame line", "[perf][guess]") {
  CHECK(perf_applicable(kTwoSamples) == Applicable::yes);
  CHECK(perf_applicable("# comment\n# more\n") == Applicable::need_more);
  CHECK(perf_applicable("spin 15309 289.307629:     250000 cpu-clock:pppH: \n") == Applicable::need_more);
  CHECK(perf_applicable("main;f 3\n") == Applicable::no);
  CHECK(perf_applicable("P1;T0:1;a.py:f:1 3\n") == Applicable::no);
  // Older perf script output: no timestamp in the header (FlameGraph's perf-java-stacks-01.txt and others), and
  // unindented frame lines (perf-java-stacks-02.txt).
  CHECK(perf_applicable("java 3244 cpu-clock: \n\t    7f1e2215d058 main (/bin/x)\n\n") == Applicable::yes);
  CHECK(perf_applicable("java  3278 cpu-clock: \n\t    7f1e2215d058 main (/bin/x)\n\n") == Applicable::yes);
  CHECK(perf_applicable("java 19983 cycles:\nffffffff8103d0ca native_write_msr_safe ([kernel.kallsyms])\n") ==
        Applicable::yes);
  CHECK(perf_applicable("main;f: 3\nx\n") == Applicable::no);
}

TEST_CASE("perf: a frame line with an address and no symbol is the frame ' ', as stackcollapse-perf.pl names it",
          "[perf]") {
  // perl's /^\s*(\w+)\s*(.+) \((.*)\)/ on "ADDRESS  (DSO)": \s* gives one space back, (.+) is that space.
  const char* text = "java 3244 cpu-clock: \n\t    7f1e2215d058  (/lib/x86_64-linux-gnu/libc-2.15.so)\n"
                     "\t    7f1e2215d000 main (/bin/x)\n\n";
  CHECK(fold(text) == Lines{"java;main;  1"});
}
