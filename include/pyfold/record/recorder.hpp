#pragma once
// pyfold record: sample a Python program from outside its process into folded stacks.
#include <sys/types.h>

#include <string>
#include <vector>

namespace pyfold::record {

enum class SampleMode { wall, cpu, gil };

// remote: read the program's memory from outside (process_vm_readv). inprocess: a small sampler of ours runs inside
// the program (for machines that refuse remote reads). auto: remote when a probe on a throwaway child shows it works.
enum class RecordMethod { remote, inprocess, automatic };

// Every option of pyfold record, with its default (shown by --help).
struct RecordOptions {
  double rate = 1000;         // samples per second
  double duration = 0;        // seconds; 0: until the program ends (or Ctrl-C)
  std::string output;         // "" or "-": stdout; *.gz: gzip
  SampleMode mode = SampleMode::wall;
  bool threads = false;       // a root frame per thread: `thread (TID): NAME`
  bool subprocesses = false;  // follow Python child processes: root frame `process PID:"cmdline"`
  bool function = false;      // lines of each function's first line (aggregate by function)
  bool nolineno = false;      // no line numbers
  bool timeline = false;      // samples in time order, consecutive identical stacks merged
  bool blocking = false;      // pause the threads (ptrace) while reading them
  bool quiet = false;         // no summary or progress on stderr
  std::string python = "python3";  // interpreter for `script.py` and `-m module`
  RecordMethod method = RecordMethod::automatic;
};

// What to sample: a running process, or a command to launch (script and -m forms already expanded).
struct RecordTarget {
  pid_t pid = 0;
  std::vector<std::string> command;
  bool python_program = false;  // command is {python, script, args...} or {python, "-m", module, args...}
};

struct RecordCommandLine {
  RecordOptions options;
  RecordTarget target;
  bool help = false, version = false;
  std::string help_text;
};

// Parses pyfold record's arguments. Options end at the script, at `-m MODULE` or at `--`; what follows belongs to
// the program. Throws boost::program_options::error or std::invalid_argument.
RecordCommandLine parse_record_command_line(int argc, const char* const* argv);

// Records until the program ends, Ctrl-C/SIGTERM, or --duration; writes every sample taken. Returns pyfold's exit
// code: the launched program's (128+signal when it died of a signal), else 0. Throws AttachError and IoError.
int record(const RecordOptions& options, const RecordTarget& target);

}  // namespace pyfold::record
