// pyflame-speedscope: folded stacks to a speedscope file. Parses options, calls pyfold::flame_speedscope.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/render/speedscope_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyflame-speedscope", [&] {
    pyfold::SpeedscopeCommandLine cli = pyfold::parse_speedscope_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyflame-speedscope").c_str()), 0;
    pyfold::SpeedscopeReport report = pyfold::flame_speedscope(cli.options, cli.inputs, cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyflame-speedscope: %s\n", warning.c_str());
    if (report.empty) return std::fprintf(stderr, "pyflame-speedscope: no stack counts found in the input\n"), 2;
    return 0;
  });
}
