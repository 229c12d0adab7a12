// pyflame-html: folded stacks to a self-contained HTML report. Parses options, calls pyfold::flame_html.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/render/html_cli.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyflame-html", [&] {
    pyfold::HtmlCommandLine cli = pyfold::parse_html_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyflame-html").c_str()), 0;
    pyfold::HtmlReport report = pyfold::flame_html(cli.options, cli.inputs, cli.output);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "pyflame-html: %s\n", warning.c_str());
    if (report.empty) return std::fprintf(stderr, "pyflame-html: no stack counts found in the input\n"), 2;
    return 0;
  });
}
