// pyfold record's choice of method: remote (remote_recorder.cpp) where this machine lets pyfold read another
// process's memory, in-process (inprocess/launcher.cpp) where it does not, or for --async before CPython 3.14.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/inprocess/launcher.hpp"
#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/recorder.hpp"
#include "pyfold/record/remote_recorder.hpp"
#include "pyfold/record/run_control.hpp"

namespace pyfold::record {

namespace {

// The minor version of an interpreter (python -c), 0 when it cannot be told.
int python_minor(const std::string& python) {
  std::string quoted = "'";
  for (char c : python) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* pipe = popen((quoted + " -c 'import sys; print(sys.version_info[1])' 2>/dev/null").c_str(), "r");
  if (!pipe) return 0;
  int minor = 0;
  if (std::fscanf(pipe, "%d", &minor) != 1) minor = 0;
  pclose(pipe);
  return minor;
}

MethodChoice choose_automatic(const RecordOptions& options, const RecordTarget& target) {
  MethodChoice choice;
  // --async before 3.14: only from inside (the remote method needs 3.14's published task offsets).
  if (options.async != AsyncSampling::off && target.python_program) {
    int minor = python_minor(target.command[0]);
    if (minor >= 8 && minor < 14) {
      choice.note = "--async on CPython 3." + std::to_string(minor) +
                    " (remote reading of tasks needs 3.14+): sampled from inside the program (--method inprocess)";
      choice.inprocess = true;
      return choice;
    }
  }
  std::string why, fix;
  if (!can_read_child_memory(&why, &fix)) {
    if (options.native)
      throw std::invalid_argument("--native needs to read the program from outside, which this machine refuses: " +
                                  why);
    // The fallback starts Python itself: a command it cannot sample is refused now, before it runs.
    if (!target.python_program)
      throw AttachError(AttachError::Kind::permission,
                        "reading the program from outside is refused here (pyfold tried it on a child of its own: " +
                            why + "), and sampling it from inside needs script.py or -m MODULE, not -- COMMAND. To "
                            "fix: " + fix + ".");
    choice.note = "reading the program from outside was refused (pyfold tried it on a child of its own: " + why +
                  "); sampled from inside the program instead (--method inprocess)";
    choice.inprocess = true;
  }
  return choice;
}

}  // namespace

MethodChoice choose_method(const RecordOptions& options, const RecordTarget& target) {
  check_rate(options.rate);
  if (target.pid && options.method == RecordMethod::inprocess)
    throw std::invalid_argument("--pid attaches from outside: it has no in-process method");
  if (options.native && options.method == RecordMethod::inprocess)
    throw std::invalid_argument("--native reads the program from outside: not with --method inprocess");
  MethodChoice choice;
  if (options.method == RecordMethod::inprocess) choice.inprocess = true;
  else if (options.method == RecordMethod::automatic && !target.pid) choice = choose_automatic(options, target);
  if (choice.inprocess) check_inprocess(options, target);
  return choice;
}

RecordReport record(const RecordOptions& options, const RecordTarget& target, const ProgressCallback& progress,
                    const LiveView* live) {
  SignalGuard guard;  // from the start: a Ctrl-C or SIGTERM while the method is chosen still ends the recording
  const MethodChoice choice = choose_method(options, target);
  if (!choice.inprocess) return record_remote(options, target, progress, live);
  RecordReport report = record_inprocess(options, target, progress, live);
  if (!choice.note.empty()) report.notes.insert(report.notes.begin(), choice.note);
  return report;
}

}  // namespace pyfold::record
