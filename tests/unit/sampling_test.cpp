// The sampling core both recording methods use (sampling.hpp).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "pyfold/record/sampling.hpp"

using namespace pyfold::record;

TEST_CASE("sampling settings: one rate check, and the text the bootstrap hands on read back the same") {
  CHECK_NOTHROW(check_rate(kMaxRate));
  CHECK_NOTHROW(check_rate(0.5));
  for (double bad : {0.0, -1.0, kMaxRate + 1}) {
    try {
      check_rate(bad);
      FAIL("no error");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()) == "--rate must be above 0 and at most 100000");
    }
  }
  SamplingSettings s;
  s.rate = 333.25;
  s.mode = SampleMode::gil;
  s.threads = true;
  s.lines = SamplingSettings::Lines::none;
  s.keep_startup = true;
  CHECK(sampling_settings_text(s) == "rate=333.25;mode=gil;threads=1;lines=none;startup=1");
  SamplingSettings back = parse_sampling_settings("fd=3;" + sampling_settings_text(s) + ";async=off");
  CHECK(back.rate == s.rate);
  CHECK(back.mode == s.mode);
  CHECK(back.threads);
  CHECK(back.lines == s.lines);
  CHECK(back.keep_startup);
  CHECK(sampling_settings_text(SamplingSettings{}) == "rate=1000;mode=wall;threads=0;lines=line;startup=0");
  CHECK_THROWS_AS(parse_sampling_settings("rate=200000"), std::invalid_argument);
}

TEST_CASE("deadline timer: deadlines 0.5-1.5 intervals apart, lateness counted, a missed tick skipped") {
  DeadlineTimer timer(100, 10.0);  // 10 ms
  CHECK(timer.deadline() == 10.0);
  double last = timer.deadline();
  for (int i = 0; i < 1000; ++i) {
    timer.advance();
    const double step = timer.deadline() - last;
    REQUIRE(step >= 0.005);
    REQUIRE(step <= 0.015);
    last = timer.deadline();
  }
  DeadlineTimer late(100, 10.0);
  late.woke(10.002);  // 2 ms late: counted, kept
  CHECK(late.late() == 0);
  CHECK(late.deadline() == 10.0);
  late.woke(10.5);  // 500 ms late: the missed ticks are skipped
  CHECK(late.late() == 1);
  CHECK(late.deadline() == 10.5);
  CHECK(late.lateness_max() == Approx(0.5));
  CHECK(late.lateness_sum() == Approx(0.502));
}

TEST_CASE("start-up filter: a launched program's first line, and under the in-process bootstrap runpy's only") {
  CodeInfo module{"<module>", "/app/main.py"}, frozen{"<module>", "<frozen getpath>"},
      run_code{"_run_code", "/usr/lib/python3.12/runpy.py"}, bootstrap{"<module>", "<string>"},
      work{"work", "/app/main.py"};
  auto frames = [](std::initializer_list<CodeInfo*> innermost_first) {
    std::vector<FrameRef> v;
    for (CodeInfo* c : innermost_first) v.push_back(FrameRef{c, 1});
    return v;
  };
  CHECK(past_startup(frames({&work, &module}), StartupRule::launched));
  CHECK_FALSE(past_startup(frames({&frozen}), StartupRule::launched));
  CHECK(past_startup(frames({&module, &run_code, &bootstrap}), StartupRule::launched));
  CHECK(past_startup(frames({&module, &run_code, &bootstrap}), StartupRule::bootstrap));
  CHECK_FALSE(past_startup(frames({&bootstrap}), StartupRule::bootstrap));
  CHECK(past_startup(frames({&bootstrap}), StartupRule::launched));  // why the bootstrap needs its own rule

  ThreadStack starting, started;
  starting.frames = frames({&frozen});
  started.frames = frames({&work, &module});
  StartupFilter filter(StartupRule::launched, false, false);
  CHECK_FALSE(filter.keep({starting}));
  CHECK_FALSE(filter.started());
  CHECK(filter.keep({starting, started}));
  CHECK(filter.keep({starting}));  // once started, every sample counts
  StartupFilter keeping(StartupRule::launched, true, false);
  CHECK(keeping.keep({starting}));
  CHECK_FALSE(keeping.started());
  CHECK(StartupFilter(StartupRule::launched, false, true).keep({starting}));  // --pid: nothing to leave out
}

TEST_CASE("mode filter and thread roots") {
  CodeInfo code{"f", "f.py"};
  ThreadStack t;
  t.frames.push_back(FrameRef{&code, 1});
  int asked = 0;
  auto running = [&] { return ++asked, 'R'; };
  auto sleeping = [&] { return ++asked, 'S'; };
  CHECK(counted_in_mode(SampleMode::wall, t, sleeping));
  CHECK(asked == 0);
  CHECK(counted_in_mode(SampleMode::cpu, t, running));
  CHECK_FALSE(counted_in_mode(SampleMode::cpu, t, sleeping));
  CHECK_FALSE(counted_in_mode(SampleMode::gil, t, running));
  t.holds_gil = true;
  CHECK(counted_in_mode(SampleMode::gil, t, sleeping));
  CHECK(counted_in_mode(SampleMode::cpu, t, sleeping));
  CHECK_FALSE(counted_in_mode(SampleMode::wall, ThreadStack{}, running));  // no frames: nothing to count
  CHECK(thread_label(1234, 0x7f00) == "thread (1234)");
  CHECK(thread_label(0, 0x7f00) == "thread (0x7f00)");
  CHECK(thread_label(0, 0) == "thread (0)");
}

TEST_CASE("a thread's root: its name after the label, or the label alone (never `thread (ID): ` with no name)") {
  using pyfold::record::thread_root_text;
  CHECK(thread_root_text("thread (12)", "MainThread") == "thread (12): MainThread");
  CHECK(thread_root_text("thread (0x7f00)", "") == "thread (0x7f00)");
  CHECK(thread_root_text("thread (12)", "a;b") == "thread (12): a:b");
}

TEST_CASE("in-process native sampler: the bootstrap's settings text, and what it refuses") {
  using pyfold::record::parse_sampling_settings;
  using Lines = pyfold::record::SamplingSettings::Lines;
  auto s = parse_sampling_settings("fd=3;rate=250;mode=cpu;threads=1;lines=function;startup=1;async=off;"
                                       "agent=/proc/self/fd/4");
  CHECK(s.rate == 250);
  CHECK(s.mode == pyfold::record::SampleMode::cpu);
  CHECK(s.threads);
  CHECK(s.lines == Lines::function);
  CHECK(s.keep_startup);
  auto d = parse_sampling_settings("");
  CHECK(d.rate == 1000);
  CHECK(d.mode == pyfold::record::SampleMode::wall);
  CHECK_FALSE(d.threads);
  CHECK(d.lines == Lines::line);
  CHECK_FALSE(d.keep_startup);
  CHECK(parse_sampling_settings("lines=none;mode=wall").lines == Lines::none);
  CHECK_THROWS_AS(parse_sampling_settings("rate=0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_sampling_settings("rate=fast"), std::invalid_argument);
  CHECK(parse_sampling_settings("mode=gil").mode == pyfold::record::SampleMode::gil);
  CHECK_THROWS_AS(parse_sampling_settings("mode=all"), std::invalid_argument);
  CHECK_THROWS_AS(parse_sampling_settings("lines=some"), std::invalid_argument);
}
