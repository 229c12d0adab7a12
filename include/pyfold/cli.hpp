#pragma once
// What every pyfold binary does at its edge: turn errors into messages and exit codes.
//   0 success; 1 an input or output could not be used; 2 bad input (strict mode, empty input) or bad usage;
//   141 the reader of our output went away (as if killed by SIGPIPE), without a message.
#include <cstdio>
#include <functional>
#include <string>

namespace pyfold {

// Runs body and maps its exceptions to "program: message" on stderr and an exit code.
int run_cli(const char* program, const std::function<int()>& body);

// "program (pyfold) VERSION"
std::string version_line(const char* program);

// The whole main of a renderer (pyflame-*): parse the command line, answer --help and --version, render, print the
// report's warnings; an input without stack counts exits 2.
template <class Parse, class Render>
int run_renderer(const char* program, int argc, char** argv, Parse parse, Render render) {
  return run_cli(program, [&] {
    auto cli = parse(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", version_line(program).c_str()), 0;
    auto report = render(cli);
    for (const auto& warning : report.warnings) std::fprintf(stderr, "%s: %s\n", program, warning.c_str());
    if (report.empty) return std::fprintf(stderr, "%s: no stack counts found in the input\n", program), 2;
    return 0;
  });
}

}  // namespace pyfold
