// pyfold record --on-rotate and --format pprof: the command template's placeholders quoted for the shell (run by
// /bin/sh here, with hostile file names), the runner's order, bounded queue, failure reports, deletion after
// success only and the wait at the end; the pprof profile's period, start and duration.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/record/pprof_profile.hpp"
#include "pyfold/record/rotation_handoff.hpp"
#include "pyfold/render/proto_writer.hpp"

using namespace pyfold::record;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char dir[] = "/tmp/pyfold-handoff-XXXXXX";
    REQUIRE(mkdtemp(dir));
    path = dir;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What sh prints running the command (its standard output).
std::string run_shell(const std::string& command, const std::string& cwd) {
  std::string full = "cd '" + cwd + "' && " + command;
  FILE* p = popen(("/bin/sh -c " + shell_quote(full)).c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
  pclose(p);
  return out;
}

FinishedProfile profile(const std::string& file, std::uint64_t n = 0) {
  FinishedProfile p;
  p.file = file;
  p.start = 1796457577.75;
  p.end = 1796457578.5;
  p.time = "20261205T075937Z";
  p.n = n;
  p.pid = 4242;
  p.rate = 1000;
  return p;
}

// Collects the hand-off's reports (from its thread).
struct Reports {
  std::mutex mutex;
  std::vector<std::string> lines;
  ProfileHandoff::Report sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    };
  }
  std::string all() {
    std::lock_guard<std::mutex> lock(mutex);
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
};

void wait_for(const std::string& path) {
  for (int i = 0; i < 1000 && !exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(exists(path));
}

}  // namespace

TEST_CASE("shell_quote: plain words as they are, anything else one quoted word") {
  CHECK(shell_quote("prof/app-0.folded.gz") == "prof/app-0.folded.gz");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("$(id)") == "'$(id)'");
}

TEST_CASE("expand_command: every placeholder's value") {
  FinishedProfile p = profile("prof/app-3.folded", 3);
  CHECK(expand_command("up {file} {start} {end} {time} {n} {pid} {rate}", p) ==
        "up prof/app-3.folded 1796457577 1796457578 20261205T075937Z 3 4242 1000");
  p.rate = 99.5;
  CHECK(expand_command("{rate}", p) == "99.5");
  // The shell's own braces stay: ${file} is a shell variable, {a,b} and { cmd; } are shell syntax, {x} is unknown.
  CHECK(expand_command("echo ${file} {a,b} { true; } {x} {file", p) == "echo ${file} {a,b} { true; } {x} {file");
}

TEST_CASE("expand_command: hostile file names stay one word wherever the placeholder stands; nothing in them runs") {
  TempDir dir;
  const std::vector<std::string> names = {
      "plain.folded", "with space.folded", "it's.folded", "dq\"uote.folded", "$(touch PWNED).folded",
      "`touch PWNED`.folded", "back\\slash.folded", "semi;touch PWNED.folded", "star*.folded", "new\nline.folded",
      "$HOME.folded", "-dash.folded", "'\"'\"'.folded", "${IFS}x.folded", "a\tb.folded", "!bang.folded"};
  // printf '[%s]' prints each argument it gets in brackets: one argument, the name exactly, is one bracket pair.
  const std::vector<std::pair<std::string, std::string>> templates = {
      {"printf '[%s]' {file}", "[NAME]"},
      {"printf '[%s]' \"{file}\"", "[NAME]"},
      {"printf '[%s]' '{file}'", "[NAME]"},
      {"printf '[%s]' x{file}y", "[xNAMEy]"},
      {"printf '[%s]' \"in dq {file} end\"", "[in dq NAME end]"},
      {"printf '[%s]' 'in sq {file} end'", "[in sq NAME end]"},
      {"printf '[%s]' \"$(printf '<%s>' {file})\"", "[<NAME>]"},
      {"printf '[%s]' $(printf '%s' \"{file}\" | wc -c)", "[LENGTH]"},
      {"f={file}; printf '[%s]' \"$f\"", "[NAME]"},
  };
  for (const auto& name : names) {
    for (const auto& [command, expected_pattern] : templates) {
      std::string expected = expected_pattern;
      if (auto at = expected.find("NAME"); at != std::string::npos) expected.replace(at, 4, name);
      if (auto at = expected.find("LENGTH"); at != std::string::npos)
        expected.replace(at, 6, std::to_string(name.size()));
      std::string expanded = expand_command(command, profile(name));
      INFO("template " << command << "\nname " << name << "\nexpanded " << expanded);
      CHECK(command_template_problem(command).empty());
      CHECK(run_shell(expanded, dir.path) == expected);
    }
  }
  CHECK_FALSE(exists(dir / "PWNED"));
}

TEST_CASE("command_template_problem: a quote or $( left open") {
  CHECK(command_template_problem("curl --data-binary @{file} 'http://x/ingest?from={start}").find("'") !=
        std::string::npos);
  CHECK(command_template_problem("echo \"{file}").find('"') != std::string::npos);
  CHECK(command_template_problem("echo $(cat {file}").find("$(") != std::string::npos);
  CHECK(command_template_problem("echo \"it's\" 'say \"hi\"' \\' $(echo (x)) {file}").empty());
}

TEST_CASE("ProfileHandoff: one command at a time, in the order handed on, with its own file") {
  TempDir dir;
  Reports reports;
  HandoffOptions options;
  options.command = "printf '%s %s\\n' {n} {file} >> " + shell_quote(dir / "log") + "; sleep 0.05";
  ProfileHandoff handoff(options, reports.sink());
  for (int i = 0; i < 5; ++i) handoff.hand_on(profile(dir / ("p-" + std::to_string(i)), i));
  HandoffTotals totals = handoff.finish();
  CHECK(totals.handed == 5);
  CHECK(totals.succeeded == 5);
  CHECK(totals.failed + totals.overflowed + totals.left == 0);
  std::string expected;
  for (int i = 0; i < 5; ++i) expected += std::to_string(i) + " " + (dir / ("p-" + std::to_string(i))) + "\n";
  CHECK(read_text(dir / "log") == expected);
  CHECK(reports.all().empty());
  CHECK(totals.text() == "--on-rotate: 5 files handed on, 5 commands succeeded, 0 failed");
}

TEST_CASE("ProfileHandoff: the queue is bounded; a file beyond it is kept, not handed on, and reported") {
  TempDir dir;
  Reports reports;
  HandoffOptions options;
  options.queue = 2;
  // Each command says it started, then waits for the gate.
  options.command = "touch " + shell_quote(dir.path) + "/started-{n}; while [ ! -e " + shell_quote(dir / "gate") +
                    " ]; do sleep 0.01; done";
  ProfileHandoff handoff(options, reports.sink());
  handoff.hand_on(profile("p-0", 0));
  wait_for(dir / "started-0");  // the first runs: two may wait, the next two do not fit
  for (int i = 1; i < 5; ++i) handoff.hand_on(profile("p-" + std::to_string(i), i));
  std::ofstream(dir / "gate").put('x');
  HandoffTotals totals = handoff.finish();
  CHECK(totals.handed == 5);
  CHECK(totals.succeeded == 3);
  CHECK(totals.overflowed == 2);
  CHECK(exists(dir / "started-1"));
  CHECK(exists(dir / "started-2"));
  CHECK_FALSE(exists(dir / "started-3"));
  CHECK_FALSE(exists(dir / "started-4"));
  std::string all = reports.all();
  CHECK(all.find("2 files already wait for the command (--on-rotate-queue): p-3 is not handed on; it is kept") !=
        std::string::npos);
  CHECK(all.find("p-4 is not handed on") != std::string::npos);
  CHECK(totals.text().find("2 not handed on (the queue was full)") != std::string::npos);
}

TEST_CASE("ProfileHandoff: a failing command is reported with its exit status and output tail; its file is kept") {
  TempDir dir;
  Reports reports;
  HandoffOptions options;
  options.delete_after = true;
  // Even n fails (after seven lines of output), odd n succeeds.
  options.command = "if [ $(({n} % 2)) = 0 ]; then for i in 1 2 3 4 5 6; do echo line $i; done; "
                    "echo 'upload refused: 503' >&2; exit 3; fi";
  for (int i = 0; i < 4; ++i) std::ofstream(dir / ("p-" + std::to_string(i))) << "a;b 1\n";
  {
    ProfileHandoff handoff(options, reports.sink());
    for (int i = 0; i < 4; ++i) handoff.hand_on(profile(dir / ("p-" + std::to_string(i)), i));
    HandoffTotals totals = handoff.finish();
    CHECK(totals.succeeded == 2);
    CHECK(totals.failed == 2);
    CHECK(totals.deleted == 2);
    CHECK(totals.text() ==
          "--on-rotate: 4 files handed on, 2 commands succeeded, 2 failed, 2 files deleted after success (their files "
          "are kept)");
  }
  CHECK(exists(dir / "p-0"));  // failed: kept
  CHECK_FALSE(exists(dir / "p-1"));  // succeeded: deleted
  CHECK(exists(dir / "p-2"));
  CHECK_FALSE(exists(dir / "p-3"));
  std::string all = reports.all();
  INFO(all);
  CHECK(all.find("--on-rotate: the command for " + (dir / "p-0") + " exited with status 3; the file is kept; its "
                 "output ended:\n    line 3\n    line 4\n    line 5\n    line 6\n    upload refused: 503\n") !=
        std::string::npos);
  CHECK(all.find("line 2") == std::string::npos);  // the tail: the last five lines
  CHECK(all.find("the command for " + (dir / "p-2") + " exited with status 3") != std::string::npos);
  CHECK(all.find("p-1") == std::string::npos);
}

TEST_CASE("ProfileHandoff: a command killed by a signal says which") {
  Reports reports;
  HandoffOptions options;
  options.command = "kill -KILL $$";
  ProfileHandoff handoff(options, reports.sink());
  handoff.hand_on(profile("p-0"));
  CHECK(handoff.finish().failed == 1);
  CHECK(reports.all().find("was killed by signal 9 (SIGKILL); the file is kept; it wrote nothing") !=
        std::string::npos);
}

TEST_CASE("ProfileHandoff: the end waits at most --on-rotate-wait, then stops the command and keeps what is left") {
  TempDir dir;
  Reports reports;
  HandoffOptions options;
  options.wait = 0.5;
  // The command's own child in the background holds its output open: the stop ends the whole group.
  options.command = "sleep 30 & sleep 30";
  ProfileHandoff handoff(options, reports.sink());
  handoff.hand_on(profile("p-0", 0));
  handoff.hand_on(profile("p-1", 1));
  handoff.hand_on(profile("p-2", 2));
  auto started = std::chrono::steady_clock::now();
  HandoffTotals totals = handoff.finish();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(seconds < 3);
  CHECK(totals.left == 3);  // one stopped, two never run
  CHECK(totals.succeeded + totals.failed == 0);
  std::string all = reports.all();
  CHECK(all.find("2 files were not handed on within --on-rotate-wait (p-1 to p-2); they are kept") !=
        std::string::npos);
  CHECK(all.find("the command for p-0 was stopped at the end of --on-rotate-wait (was killed by signal 15 "
                 "(SIGTERM))") != std::string::npos);
  // A second finish (the destructor's) changes nothing.
  CHECK(handoff.finish().left == 3);
}

TEST_CASE("ProfileHandoff: the end's wait also ends when asked (Ctrl-C again)") {
  Reports reports;
  HandoffOptions options;
  options.command = "sleep 30";
  ProfileHandoff handoff(options, reports.sink());
  handoff.hand_on(profile("p-0"));
  auto started = std::chrono::steady_clock::now();
  HandoffTotals totals =
      handoff.finish([&] { return std::chrono::steady_clock::now() - started > std::chrono::milliseconds(300); });
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  CHECK(totals.left == 1);
}

TEST_CASE("write_pprof_profile: the period (1/rate), sample type, start and duration; gzip once") {
  TempDir dir;
  PprofProfileInfo info;
  info.rate = 200;
  info.sample_type = "wall";
  info.start = 1796457577.25;
  info.end = 1796457578.75;
  for (const std::string name : {"p.pb.gz", "p.pb"}) {
    auto out = pyfold::OutputSink::open(dir / name);
    write_pprof_profile(*out, "main (app.py:1);work (app.py:5) 3\nmain (app.py:1) 2\n", info);
    out->commit();
    std::string packed = read_text(dir / name);
    REQUIRE(packed.size() > 2);
    CHECK(static_cast<unsigned char>(packed[0]) == 0x1f);  // gzip, and only once: the reader below unpacks it
    auto source = pyfold::InputSource::open(dir / name);
    std::string proto;
    char buffer[4096];
    for (std::size_t n; (n = source->read(buffer, sizeof buffer)) > 0;) proto.append(buffer, n);
    INFO(name);
    CHECK(proto.find("wall") != std::string::npos);
    CHECK(proto.find("nanoseconds") != std::string::npos);
    CHECK(proto.find("work") != std::string::npos);
    pyfold::ProtoWriter fields;
    fields.int_field(9, 1796457577250000000);  // time_nanos
    CHECK(proto.find(fields.bytes()) != std::string::npos);
    fields.clear();
    fields.int_field(10, 1500000000);  // duration_nanos
    CHECK(proto.find(fields.bytes()) != std::string::npos);
    fields.clear();
    fields.int_field(12, 5000000);  // period: 5 ms
    CHECK(proto.find(fields.bytes()) != std::string::npos);
    fields.clear();
    pyfold::ProtoWriter value;
    value.varint(15000000);  // 3 samples x 5 ms, packed
    fields.bytes_field(2, value.bytes());
    CHECK(proto.find(fields.bytes()) != std::string::npos);
  }
  CHECK(parse_profile_format("pprof") == ProfileFormat::pprof);
  CHECK_THROWS_WITH(parse_profile_format("json"), "--format is folded or pprof, not 'json'");
}
