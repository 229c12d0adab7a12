// pyfold record's output side: deferred thread roots, --rotate's files and names, the self-time table, the report's
// summary and exit code.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pyfold/record/recorder.hpp"
#include "pyfold/record/stack_counter.hpp"

using namespace pyfold::record;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string temp_dir() {
  char dir[] = "/tmp/pyfold-output-XXXXXX";
  REQUIRE(mkdtemp(dir));
  return dir;
}

void remove_dir(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') unlink((dir + "/" + e->d_name).c_str());
    closedir(d);
  }
  rmdir(dir.c_str());
}

}  // namespace

TEST_CASE("stack counter: a deferred frame is named when written; frames that end up equal merge") {
  std::string text;
  StackCounter counter(false);
  auto t1 = counter.intern_deferred(1), t2 = counter.intern_deferred(2), f = counter.intern("f (a.py:1)");
  CHECK(counter.intern_deferred(1) == t1);
  counter.add({t1, f});
  counter.add({t2, f}, 2);
  std::map<std::uint64_t, std::string> names{{1, "thread (7): A"}, {2, "thread (8): B"}};
  auto out = pyfold::OutputSink::into_string(text);
  counter.write(*out, [&](std::uint64_t key) { return names[key]; });
  out->commit();
  CHECK(text == "thread (7): A;f (a.py:1) 1\nthread (8): B;f (a.py:1) 2\n");
  text.clear();
  names[2] = "thread (7): A";
  out = pyfold::OutputSink::into_string(text);
  counter.write(*out, [&](std::uint64_t key) { return names[key]; });
  out->commit();
  CHECK(text == "thread (7): A;f (a.py:1) 3\n");
  counter.clear_counts();
  CHECK(counter.total() == 0);
  CHECK(counter.intern("f (a.py:1)") == f);  // the frames stay interned
}

TEST_CASE("profile writer: one root a thread, named with the last name known; Python's name wins over the OS's") {
  std::string dir = temp_dir();
  ProfileWriter writer(dir + "/p.folded", false, 0);
  writer.start(100.0);
  auto root = writer.thread_root(42, 649, "thread (649)");
  CHECK(writer.thread_root(42, 649, "thread (649)") == root);
  auto f = writer.counter().intern("work (w.py:3)");
  writer.name_thread(root, "python3", false);
  writer.add({root, f});
  writer.name_thread(root, "MainThread", true);
  writer.name_thread(root, "python3", false);  // ignored: threading named it
  writer.add({root, f});
  CHECK(writer.named_by_python(root));
  writer.finish(101.0);
  CHECK(read_text(dir + "/p.folded") == "thread (649): MainThread;work (w.py:3) 2\n");
  remove_dir(dir);
}

TEST_CASE("profile writer: --rotate writes each interval's samples once, in the file of the interval they fall in") {
  std::string dir = temp_dir();
  ProfileWriter writer(dir + "/prof-{n}.folded", false, 1.0);
  auto a = writer.counter().intern("a (x.py:1)"), b = writer.counter().intern("b (x.py:2)");
  writer.start(10.0);
  writer.rotate_if_due(10.5);
  writer.add({a});
  writer.rotate_if_due(11.0);  // the boundary: what comes now is the second interval's
  writer.add({b});
  writer.add({b});
  writer.rotate_if_due(13.2);  // late: the second interval, then an empty third
  writer.add({a});
  writer.finish(13.5);
  CHECK(writer.files().size() == 4);
  CHECK(read_text(dir + "/prof-0.folded") == "a (x.py:1) 1\n");
  CHECK(read_text(dir + "/prof-1.folded") == "b (x.py:2) 2\n");
  CHECK(read_text(dir + "/prof-2.folded") == "");
  CHECK(read_text(dir + "/prof-3.folded") == "a (x.py:1) 1\n");
  CHECK(writer.total() == 4);
  auto top = writer.top_self(5);
  REQUIRE(top.size() == 2);
  CHECK(top[0].function == "a (x.py)");  // by function: the line is dropped
  CHECK(top[0].self == 0.5);
  remove_dir(dir);
}

TEST_CASE("profile writer: names that cannot tell intervals apart are refused") {
  CHECK_THROWS_AS(ProfileWriter("", false, 5), std::invalid_argument);
  CHECK_THROWS_AS(ProfileWriter("out.folded", false, 5), std::invalid_argument);
  CHECK_THROWS_AS(ProfileWriter("out-{n}.folded", false, 0.5), std::invalid_argument);
  CHECK_NOTHROW(ProfileWriter("out.folded", false, 0));
}

TEST_CASE("rotated file names: {time} in UTC, {start} and {end} in Unix seconds, {n}") {
  CHECK(expand_profile_name("d/prof-{time}.folded.gz", 1795848300.7, 0, 0) == "d/prof-20261128T064500Z.folded.gz");
  CHECK(expand_profile_name("{start}-{end}-{n}-{x}", 100.9, 160.2, 3) == "100-160-3-{x}");
}

TEST_CASE("record report: exit codes and the summary's rate of samples taken") {
  RecordReport r;
  r.samples = 1000, r.recorded = 900, r.startup = 50, r.not_recorded["the stack changed during the read"] = 50;
  r.elapsed = 2.0;
  CHECK(record_exit_code(r) == 0);
  std::string summary = summary_text(r);
  CHECK(summary.find("1000 samples in 2.00 s (500 Hz): 900 recorded, 50 start-up left out") != std::string::npos);
  CHECK(summary.find("not recorded: 50, the stack changed during the read") != std::string::npos);
  r.program = RecordReport::Program::exited, r.exit_code = 7;
  CHECK(record_exit_code(r) == 7);
  r.program = RecordReport::Program::stopped;
  CHECK(record_exit_code(r) == 0);
  r.program = RecordReport::Program::never_python, r.exit_code = 0, r.command = "ls";
  CHECK(record_exit_code(r) == 1);
  CHECK(problem_text(r).find("ls ended (exit code 0) without becoming Python") == 0);
  r.program = RecordReport::Program::ended_before_first_line, r.exit_code = 2;
  CHECK(record_exit_code(r) == 2);
  CHECK(top_self_text(r).empty());
  r.top_self = {{"fib (app.py)", 0.812}};
  CHECK(top_self_text(r).find("   81.2%  fib (app.py)\n") != std::string::npos);
}

TEST_CASE("record command line: --include-startup, --rotate") {
  const char* args[] = {"pyfold-record", "--include-startup", "--rotate", "60", "-o", "p-{time}.folded", "--pid", "1"};
  auto cli = parse_record_command_line(8, args);
  CHECK(cli.options.include_startup);
  CHECK(cli.options.rotate == 60);
  RecordOptions defaults;
  CHECK_FALSE(defaults.include_startup);
  CHECK(defaults.rotate == 0);
  const char* bad[] = {"pyfold-record", "--rotate", "0", "--pid", "1"};
  CHECK_THROWS_AS(parse_record_command_line(5, bad), std::invalid_argument);
}
