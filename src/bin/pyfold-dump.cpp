// pyfold-dump: the current Python stack of every thread of a process. Parses options, calls pyfold::record.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/record/dump.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-dump", [&] {
    auto cli = pyfold::record::parse_dump_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyfold-dump").c_str()), 0;
    return pyfold::record::dump_stacks(cli.options);  // AttachError: its message, exit 1
  });
}
