// pyfold-collapse: profiles of any known format to merged folded stacks. Parses options, calls the library.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/collapse/collapse.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-collapse", [&] {
    auto cli = pyfold::collapse::parse_collapse_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyfold-collapse").c_str()), 0;
    auto report = pyfold::collapse::collapse_files(cli.options, cli.inputs, cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyfold-collapse: %s\n", warning.c_str());
    if (report.stacks_read == 0) return std::fprintf(stderr, "pyfold-collapse: no stacks found in the input\n"), 2;
    return 0;
  });
}
