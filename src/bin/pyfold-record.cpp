// pyfold-record: sample a Python program from outside into folded stacks. Parses options, calls pyfold::record,
// prints its report.
#include <unistd.h>

#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/record/recorder.hpp"
#include "pyfold/record/run_control.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold-record", [&] {
    namespace rec = pyfold::record;
    auto cli = rec::parse_record_command_line(argc, argv);
    if (cli.help) return std::fputs(cli.help_text.c_str(), stdout), 0;
    if (cli.version) return std::printf("%s\n", pyfold::version_line("pyfold-record").c_str()), 0;
    const bool terminal = !cli.options.quiet && isatty(STDERR_FILENO);
    rec::ProgressCallback progress;
    if (terminal) {
      progress = [](const rec::RecordProgress& p) {
        std::fprintf(stderr, "\rpyfold-record: %llu samples, %llu not recorded, %.1f s ",
                     static_cast<unsigned long long>(p.samples), static_cast<unsigned long long>(p.not_recorded),
                     p.seconds);
      };
    }
    rec::RecordReport report;
    try {
      report = rec::record(cli.options, cli.target, progress);  // AttachError: its message, exit 1
    } catch (const rec::PythonDescendantsOnly& e) {
      std::fprintf(stderr, "pyfold-record: %s\n", e.what());
      return rec::kExitPythonDescendants;
    }
    if (terminal) std::fputs("\r\033[K", stderr);
    std::string problem = rec::problem_text(report);
    if (!problem.empty()) std::fprintf(stderr, "pyfold-record: %s\n", problem.c_str());
    if (!cli.options.quiet && problem.empty()) std::fputs(rec::summary_text(report).c_str(), stderr);
    if (terminal && problem.empty()) std::fputs(rec::top_self_text(report).c_str(), stderr);
    return rec::record_exit_code(report);
  });
}
