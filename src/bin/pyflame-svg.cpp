// pyflame-svg: folded stacks to an interactive SVG flame graph. Parses options, calls pyfold::flame_svg.
#include "pyfold/cli.hpp"
#include "pyfold/render/svg_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_renderer("pyflame-svg", argc, argv, pyfold::parse_svg_command_line,
                              [](const auto& cli) { return pyfold::flame_svg(cli.options, cli.inputs, cli.output); });
}
