// pyflame-html: folded stacks to a self-contained HTML report. Parses options, calls pyfold::flame_html.
#include "pyfold/cli.hpp"
#include "pyfold/render/html_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_renderer("pyflame-html", argc, argv, pyfold::parse_html_command_line,
                              [](const auto& cli) { return pyfold::flame_html(cli.options, cli.inputs, cli.output); });
}
