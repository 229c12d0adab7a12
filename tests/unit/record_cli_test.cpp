// pyfold record's command line (recorder.hpp: parse_record_command_line).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pyfold/record/recorder.hpp"

using namespace pyfold::record;

TEST_CASE("record command line: defaults, and options end at the program") {
  const char* script[] = {"pyfold-record", "app.py", "--rate", "5"};
  auto cli = parse_record_command_line(4, script);
  RecordOptions defaults;
  CHECK(cli.options.rate == defaults.rate);
  CHECK(cli.options.rate == 1000);
  CHECK(cli.options.mode == SampleMode::wall);
  CHECK(cli.options.python == "python3");
  CHECK(cli.target.command == std::vector<std::string>{"python3", "app.py", "--rate", "5"});

  const char* module[] = {"pyfold-record", "-r", "50", "--python", "/x/python", "-m", "http.server", "-h"};
  cli = parse_record_command_line(8, module);
  CHECK(cli.options.rate == 50);
  CHECK(cli.target.command == std::vector<std::string>{"/x/python", "-m", "http.server", "-h"});

  const char* command[] = {"pyfold-record", "--mode=cpu", "--threads", "--", "sh", "-c", "exec python3 x.py"};
  cli = parse_record_command_line(7, command);
  CHECK(cli.options.mode == SampleMode::cpu);
  CHECK(cli.options.threads);
  CHECK(cli.target.command == std::vector<std::string>{"sh", "-c", "exec python3 x.py"});

  const char* pid[] = {"pyfold-record", "--pid", "123", "-d", "2"};
  cli = parse_record_command_line(5, pid);
  CHECK(cli.target.pid == 123);
  CHECK(cli.options.duration == 2);

  const char* nothing[] = {"pyfold-record"};
  CHECK_THROWS_WITH(parse_record_command_line(1, nothing), Catch::Contains("nothing to record"));
  const char* both[] = {"pyfold-record", "--pid", "1", "app.py"};
  CHECK_THROWS(parse_record_command_line(4, both));
  const char* bad_mode[] = {"pyfold-record", "--mode", "gpu", "app.py"};
  CHECK_THROWS_WITH(parse_record_command_line(4, bad_mode), Catch::Contains("wall, cpu or gil"));
  const char* exclusive[] = {"pyfold-record", "--function", "--nolineno", "app.py"};
  CHECK_THROWS(parse_record_command_line(4, exclusive));
}

TEST_CASE("record command line: a program where the script goes is refused, with the form that runs it") {
  // As austin takes it: `pyfold record python3 app.py`. An executable file, or a name on PATH that is no file here.
  const char* binary[] = {"pyfold-record", "/bin/sh", "-c", "exit 3"};
  CHECK_THROWS_WITH(parse_record_command_line(4, binary),
                    Catch::Contains("/bin/sh is a program, not a Python script") &&
                        Catch::Contains("put it after --, as in `-- /bin/sh -c exit 3`"));
  const char* on_path[] = {"pyfold-record", "sh", "app.py"};
  CHECK_THROWS_WITH(parse_record_command_line(3, on_path), Catch::Contains("sh: no such file here, but "));
  const char* command[] = {"pyfold-record", "--", "sh", "app.py"};
  CHECK(parse_record_command_line(4, command).target.command == std::vector<std::string>{"sh", "app.py"});
  const char* missing[] = {"pyfold-record", "no-such-dir/app.py"};  // Python says so (and pyfold exits with its code)
  CHECK(parse_record_command_line(2, missing).target.command.size() == 2);
}
