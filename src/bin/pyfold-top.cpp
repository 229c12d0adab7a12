// pyfold-top: a live view of where a running Python program spends its time. Parses options, runs the view.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/top/top.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-top", [&] {
    auto cli = pyfold::top::parse_top_command_line(argc, argv);
    if (cli.record.help) return std::fputs(cli.record.help_text.c_str(), stdout), 0;
    if (cli.record.version) return std::printf("%s\n", pyfold::version_line("pyfold-top").c_str()), 0;
    return pyfold::top::run_top(cli);
  });
}
