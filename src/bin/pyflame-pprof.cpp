// pyflame-pprof: folded stacks to a gzip-compressed pprof profile. Parses options, calls pyfold::flame_pprof.
#include "pyfold/cli.hpp"
#include "pyfold/render/pprof_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_renderer("pyflame-pprof", argc, argv, pyfold::parse_pprof_command_line,
                              [](const auto& cli) { return pyfold::flame_pprof(cli.options, cli.inputs, cli.output); });
}
