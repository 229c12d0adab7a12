// pyfold-diff: two profiles to differential folded stacks. Parses options, calls the library.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/collapse/diff.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-diff", [&] {
    auto cli = pyfold::collapse::parse_diff_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyfold-diff").c_str()), 0;
    auto report = pyfold::collapse::diff_files(cli.options, cli.inputs[0], cli.inputs[1], cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyfold-diff: %s\n", warning.c_str());
    if (report.stacks == 0) return std::fprintf(stderr, "pyfold-diff: no stacks found in either profile\n"), 2;
    return 0;
  });
}
