// pyflame-svg: folded stacks to an interactive SVG flame graph. Parses options, calls pyfold::flame_svg.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/render/svg_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyflame-svg", [&] {
    pyfold::SvgCommandLine cli = pyfold::parse_svg_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyflame-svg").c_str()), 0;
    pyfold::SvgReport report = pyfold::flame_svg(cli.options, cli.inputs, cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyflame-svg: %s\n", warning.c_str());
    if (report.empty) return std::fprintf(stderr, "pyflame-svg: no stack counts found in the input\n"), 2;
    return 0;
  });
}
