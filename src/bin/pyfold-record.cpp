// pyfold-record: sample a Python program from outside into folded stacks. Parses options, calls pyfold::record.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/record/recorder.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-record", [&] {
    auto cli = pyfold::record::parse_record_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyfold-record").c_str()), 0;
    return pyfold::record::record(cli.options, cli.target);  // AttachError: its message, exit 1
  });
}
