#pragma once
// pyfold record: its command line, the choice of method (remote_recorder.hpp, inprocess/launcher.hpp), the summary.
#include <functional>
#include <string>

#include "pyfold/command_line.hpp"
#include "pyfold/record/record_options.hpp"

namespace pyfold::record {

struct RecordCommandLine {
  RecordOptions options;
  RecordTarget target;
  bool help = false, version = false;
  std::string help_text;
};

// Parses pyfold record's arguments. Options end at the script, at `-m MODULE` or at `--`; what follows belongs to
// the program. Throws boost::program_options::error or std::invalid_argument.
RecordCommandLine parse_record_command_line(int argc, const char* const* argv);

// Another command that samples as pyfold record does (pyfold top): its usage (the table's caption), its own options
// (added after record's), and what --help prints after the table.
struct SamplingCommand {
  std::string usage;
  std::function<void(boost::program_options::options_description&)> add_options;
  std::string help_end;
};
// Parses that command's arguments with pyfold record's options that change what is sampled (--pid, --rate, --mode,
// --subprocesses, --blocking, --nonblocking, --native, --native-all, --include-startup, --python, --method,
// --async, --async-mode; not its output's), the same split at the program and the same checks.
RecordCommandLine parse_sampling_command_line(int argc, const char* const* argv, const SamplingCommand& command);

// Which method records the target: the one asked for, or with --method auto the remote one unless this machine
// refuses it or --async needs the tasks of a CPython before 3.14 (then a note says why). Throws
// std::invalid_argument for options that do not go together with it: record() asks it first, and pyfold top before
// it draws anything.
struct MethodChoice {
  bool inprocess = false;
  std::string note;
};
MethodChoice choose_method(const RecordOptions& options, const RecordTarget& target);

// Records until the program ends, Ctrl-C/SIGTERM, or --duration, and writes every sample recorded. Throws
// AttachError, IoError and std::invalid_argument (options that do not go together).
// live: pyfold top's view takes the stacks instead of a profile.
RecordReport record(const RecordOptions& options, const RecordTarget& target, const ProgressCallback& progress = {},
                    const LiveView* live = nullptr);

// The summary pyfold record prints on stderr (without --quiet); the top of the self times (on a terminal).
std::string summary_text(const RecordReport& report);
std::string top_self_text(const RecordReport& report);
// Why nothing was written, when the launched program never got to run ("" otherwise).
std::string problem_text(const RecordReport& report);
// pyfold record's exit code: the launched program's (0 when --duration stopped it); non-zero when the program
// never became Python.
int record_exit_code(const RecordReport& report);

}  // namespace pyfold::record
