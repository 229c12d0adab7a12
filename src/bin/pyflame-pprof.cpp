// pyflame-pprof: folded stacks to a gzip-compressed pprof profile. Parses options, calls pyfold::flame_pprof.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/render/pprof_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyflame-pprof", [&] {
    pyfold::PprofCommandLine cli = pyfold::parse_pprof_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyflame-pprof").c_str()), 0;
    pyfold::PprofReport report = pyfold::flame_pprof(cli.options, cli.inputs, cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyflame-pprof: %s\n", warning.c_str());
    if (report.empty) return std::fprintf(stderr, "pyflame-pprof: no stack counts found in the input\n"), 2;
    return 0;
  });
}
