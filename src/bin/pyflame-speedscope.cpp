// pyflame-speedscope: folded stacks to a speedscope file. Parses options, calls pyfold::flame_speedscope.
#include "pyfold/cli.hpp"
#include "pyfold/render/speedscope_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_renderer("pyflame-speedscope", argc, argv, pyfold::parse_speedscope_command_line,
                              [](const auto& cli) { return pyfold::flame_speedscope(cli.options, cli.inputs, cli.output); });
}
