// pyfold top's core: the second sink fed through ProfileWriter::show_live (live_counts.hpp), the rows of a window
// (top_model.hpp), the plain table, the columns that fit a width, and the command line (top.hpp).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>
#include <vector>

#include "pyfold/record/stack_counter.hpp"
#include "pyfold/top/live_counts.hpp"
#include "pyfold/top/top.hpp"
#include "pyfold/top/top_model.hpp"
#include "pyfold/top/top_screen.hpp"

using namespace pyfold::top;
using pyfold::record::ProfileWriter;
using pyfold::record::RecordProgress;
using pyfold::record::monotonic_seconds;

namespace {

// Two threads: main runs three_parts and one_part through loop 3:1 (and recurses once in loop); worker sleeps.
struct Recording {
  std::string path = "/tmp/pyfold-top-unit-" + std::to_string(getpid()) + ".folded";
  ProfileWriter writer{path, false, 0};
  LiveCounts counts{false};
  std::uint32_t main_thread = 0, worker = 0, module = 0, three = 0, one = 0, loop = 0, idle = 0;

  Recording() {
    writer.show_live(&counts);
    writer.check_output();
    writer.process(42, "3.12");
    main_thread = writer.thread_root(42, 1, "thread (1)");
    writer.name_thread(main_thread, "MainThread", true);
    worker = writer.thread_root(42, 2, "thread (2)");
    writer.name_thread(worker, "worker", true);
    auto& c = writer.counter();
    module = c.intern("<module> (w.py)");
    three = c.intern("three_parts (w.py)");
    one = c.intern("one_part (w.py)");
    loop = c.intern("loop (w.py)");
    idle = c.intern("idle (w.py)");
  }
  void sample(std::uint64_t n_three, std::uint64_t n_one, std::uint64_t n_idle) {
    writer.add({main_thread, module, three, loop, loop}, n_three);  // (loop recursing: counted once in its total)
    writer.add({main_thread, module, one, loop}, n_one);
    writer.add({worker, idle}, n_idle);
  }
};

const Row* find(const Table& t, const std::string& name) {
  for (const Row& r : t.rows)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("top: ProfileWriter::show_live hands every stack to the view and writes no profile") {
  Recording r;
  r.sample(30, 10, 40);
  r.writer.figures(RecordProgress{40, 2, 0.04, 0, 0});
  Taken taken = r.counts.take();
  CHECK(taken.counts.stacks == 80);
  CHECK(taken.counts.thread_stacks[r.main_thread] == 40);
  CHECK(taken.counts.rows[row_key(r.main_thread, r.loop)].own == 40);
  CHECK(taken.counts.rows[row_key(r.main_thread, r.loop)].total == 40);  // not 70: once a stack
  CHECK(taken.counts.rows[row_key(r.main_thread, r.three)].total == 30);
  CHECK(taken.counts.rows[row_key(r.main_thread, r.three)].own == 0);
  CHECK(taken.progress.samples == 40);
  CHECK(taken.processes.size() == 1);
  bool named = false;
  for (const auto& [id, text] : taken.texts) named |= id == r.worker && text == "thread (2): worker";
  CHECK(named);
  CHECK(r.counts.take().counts.stacks == 0);  // taken once
  r.writer.finish(1);
  CHECK(access(r.path.c_str(), F_OK) != 0);
  CHECK(r.writer.files().empty());
}

TEST_CASE("top: the figures count from the program's first sample kept, the start-up left out") {
  Recording r;
  r.writer.figures(RecordProgress{500, 0, 0.5, 500, -1});  // the interpreter starting: nothing of the program yet
  CHECK(r.counts.sampling_started() < 0);
  CHECK(r.counts.take().progress.samples == 0);
  const double before = monotonic_seconds();
  r.writer.figures(RecordProgress{1700, 3, 1.7, 700, 0.7});  // a second after the start-up (700 ticks) ended
  const double after = monotonic_seconds();
  Taken taken = r.counts.take();
  CHECK(taken.progress.samples == 1000);
  CHECK(taken.progress.not_recorded == 3);
  CHECK(taken.progress.seconds == Approx(1.0));
  CHECK(r.counts.sampling_started() >= before - 1.0);
  CHECK(r.counts.sampling_started() <= after - 1.0);
}

TEST_CASE("top: the rows of a window, a thread, a sort and a filter; the plain table") {
  Recording r;
  Sampled sampled;
  TopModel model(sampled, 0);
  r.sample(30, 10, 40);
  r.writer.figures(RecordProgress{40, 0, 1, 0, 0});
  model.update(r.counts.take(), 0.1, 10);
  r.sample(3, 1, 4);
  r.writer.figures(RecordProgress{44, 0, 2, 0, 0});
  model.update(r.counts.take(), 0.2, 11);

  ViewState view;
  Table all = model.table(view);
  CHECK(all.pid == 42);
  CHECK(all.python_version == "3.12");
  CHECK(all.samples == 44);
  CHECK(all.stacks == 88);
  CHECK(all.threads == 2);
  CHECK(all.seconds == Approx(2));
  REQUIRE(all.rows.size() == 5);
  CHECK(all.rows[0].own == 44);  // loop and idle tie at 44 own; loop's total is the same: by name
  CHECK(find(all, "loop (w.py)")->own_share == Approx(0.5));
  CHECK(find(all, "three_parts (w.py)")->total_share == Approx(33.0 / 88));
  CHECK(find(all, "<module> (w.py)")->total_seconds == Approx(44 * 2.0 / 44));
  CHECK(all.pyfold_cpu == Approx(0.2 / 2));  // (the start's CPU 0, the wall 2 s)

  view.window = Window::last;
  Table last = model.table(view);
  CHECK(last.samples == 4);
  CHECK(last.stacks == 8);
  CHECK(find(last, "one_part (w.py)")->total == 1);

  view.window = Window::all;
  view.thread = r.main_thread;
  Table main_only = model.table(view);
  CHECK(main_only.stacks == 44);
  CHECK(main_only.thread == "thread (1): MainThread");
  CHECK(find(main_only, "idle (w.py)") == nullptr);
  CHECK(find(main_only, "three_parts (w.py)")->total_share == Approx(0.75));

  view.thread = kAllThreads;
  view.sort = SortBy::total;
  Table by_total = model.table(view);
  // 44 each: idle and loop first (their own is 44 too, then by name), <module>; three_parts; one_part
  CHECK(by_total.rows.front().name == "idle (w.py)");
  CHECK(by_total.rows[2].name == "<module> (w.py)");
  CHECK(by_total.rows.back().name == "one_part (w.py)");
  view.sort = SortBy::name;
  CHECK(model.table(view).rows.front().name == "<module> (w.py)");
  view.filter = std::regex("_part");
  Table filtered = model.table(view);
  REQUIRE(filtered.rows.size() == 2);
  CHECK(filtered.rows[0].name == "one_part (w.py)");

  auto threads = model.threads();
  REQUIRE(threads.size() == 3);
  CHECK(threads[0].root == kAllThreads);
  CHECK(threads[1].share == Approx(0.5));

  std::string text = plain_table(filtered);
  INFO(text);
  CHECK(text.rfind("# pid=42 python=3.12 mode=wall rate=1000 achieved=22 samples=44 not_recorded=0 stacks=88 "
                   "threads=2 seconds=2.00 pyfold_cpu=10.0% window=all thread=all threads\n", 0) == 0);
  CHECK(text.find("own%\ttotal%\town_s\ttotal_s\tfunction\n0.00\t12.50\t0.000\t0.500\tone_part (w.py)\n") !=
        std::string::npos);
  CHECK(text.substr(text.size() - 2) == "\n\n");
}

TEST_CASE("top: a narrow terminal drops the time columns, then the PID, then total%, before the name's room") {
  Columns wide = fit_columns(120, true);
  CHECK((wide.own_seconds && wide.total_seconds && wide.pid && wide.total_share));
  CHECK(wide.name_width == 120 - 43);
  Columns mid = fit_columns(50, false);
  CHECK((mid.own_seconds && !mid.total_seconds && mid.total_share && !mid.pid));
  Columns narrow = fit_columns(36, false);
  CHECK((!narrow.own_seconds && !narrow.total_share));
  CHECK(narrow.name_width == 36 - 9);
  CHECK(fit_columns(5, true).name_width == 0);
}

TEST_CASE("top: row names by function or by line") {
  CHECK(row_name("f (a.py:12)", false) == "f (a.py)");
  CHECK(row_name("f (a.py:12)", true) == "f (a.py:12)");
  CHECK(row_name("f (a.py)", false) == "f (a.py)");
}

TEST_CASE("top command line: record's options of what is sampled, top's own, and not record's output") {
  const char* script[] = {"pyfold-top", "--mode", "cpu", "--interval", "0.5", "--sort", "total", "app.py", "-x"};
  TopCommandLine cli = parse_top_command_line(9, script);
  CHECK(cli.record.options.mode == pyfold::record::SampleMode::cpu);
  CHECK(cli.record.options.threads);
  CHECK(cli.record.options.nolineno);
  CHECK(cli.top.interval == 0.5);
  CHECK(cli.top.sort == "total");
  CHECK(cli.record.target.command == std::vector<std::string>{"python3", "app.py", "-x"});
  const char* lines[] = {"pyfold-top", "--lines", "--pid", "7"};
  cli = parse_top_command_line(4, lines);
  CHECK_FALSE(cli.record.options.nolineno);
  CHECK(cli.record.target.pid == 7);
  const char* output[] = {"pyfold-top", "-o", "x", "--pid", "7"};
  CHECK_THROWS(parse_top_command_line(5, output));
  const char* sort[] = {"pyfold-top", "--sort", "size", "--pid", "7"};
  CHECK_THROWS_WITH(parse_top_command_line(5, sort), "--sort is own, total or name, not 'size'");
  const char* interval[] = {"pyfold-top", "--interval", "0", "--pid", "7"};
  CHECK_THROWS_WITH(parse_top_command_line(5, interval), "--interval must be 0.1 to 3600 seconds");
  const char* nothing[] = {"pyfold-top"};
  CHECK_THROWS(parse_top_command_line(1, nothing));
  const char* program_output[] = {"pyfold-top", "--program-output", "out.txt", "--pid", "7"};
  CHECK_THROWS_WITH(parse_top_command_line(5, program_output),
                    "--program-output is a launched program's: not with --pid");
}
