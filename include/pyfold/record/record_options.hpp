#pragma once
// What pyfold record is asked to do (its options, its target) and what a recording did (its report): shared by
// the command line, both recording methods and the summary.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pyfold/record/rotation_handoff.hpp"  // ProfileFormat, HandoffOptions
#include "pyfold/record/sampling.hpp"
#include "pyfold/record/stack_counter.hpp"

namespace pyfold::record {

// remote: read the program's memory from outside (process_vm_readv). inprocess: a small sampler of ours runs inside
// the program (for machines that refuse remote reads). auto: remote when a probe on a throwaway child shows it works.
enum class RecordMethod { remote, inprocess, automatic };

// --async: off, or which tasks each sample counts (asyncio_tasks.hpp's AsyncMode): the running one, or all.
enum class AsyncSampling { off, running, all };

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
  bool nonblocking = false;   // read the threads while they run (from another CPU): cheapest, not exact
  // Testing the default method: each read made off the CPU is made again with the program stopped, at the same
  // instant (the GIL's thread still has not run), and the two compared (RecordReport::checked_reads).
  bool check_reads = false;
  bool native = false;        // C/C++ frames too: each thread stopped alone while its native stack is unwound
  bool native_all = false;    // --native keeping every native frame (the interpreter's own, the thread's start)
  bool quiet = false;         // no summary or progress on stderr
  bool include_startup = false;  // keep what a launched Python runs before the script's (module's) first line
  double rotate = 0;          // seconds per profile file (output names each interval: {time}, {n}, ...); 0: one
  ProfileFormat format = ProfileFormat::folded;  // --format: each profile as folded stacks or pprof
  HandoffOptions on_rotate;   // --on-rotate COMMAND run on each finished --rotate file, and its options
  std::string python = "python3";  // interpreter for `script.py` and `-m module`
  RecordMethod method = RecordMethod::automatic;
  // --async: asyncio tasks drawn as their await chains; --async-mode running|all (default: all with --mode wall,
  // running with cpu and gil).
  AsyncSampling async = AsyncSampling::off;
};

// What to sample: a running process, or a command to launch (script and -m forms already expanded).
struct RecordTarget {
  pid_t pid = 0;
  std::vector<std::string> command;
  bool python_program = false;  // command is {python, script, args...} or {python, "-m", module, args...}
};

// What a recording did, for the summary and the exit code.
struct RecordReport {
  std::string method = "remote";  // or "in-process"
  std::uint64_t samples = 0;       // samples taken: reads of a target's stacks (by the in-process sampler: its ticks)
  std::uint64_t recorded = 0;      // of them, written to the profile
  std::uint64_t startup = 0;       // of them, left out as the interpreter's start-up (--include-startup keeps them)
  std::map<std::string, std::uint64_t> not_recorded;  // the others, by reason
  std::uint64_t retries = 0;       // immediate re-reads of stacks that were not consistent
  // Of the retries, those made with the one thread stopped (its live reads never agreed).
  std::uint64_t retries_with_thread_stopped = 0;
  // Samples read again with the whole program stopped (the default method: the GIL's thread ran during the read).
  std::uint64_t samples_read_program_stopped = 0;
  // --check-reads: reads made off the CPU compared with a stopped read of the same instant: the same stacks,
  // different ones, and not compared (the GIL's thread ran, or the GIL changed hands, before the stop took hold).
  struct CheckedReads {
    std::uint64_t same = 0, differed = 0, not_compared = 0;
    std::string first_difference;  // the two reads of the first that differed, as text
  } checked_reads;
  std::uint64_t reads = 0;         // reads of the target's memory
  std::uint64_t stack_count = 0;   // the sum of the counts written (one a thread a sample)
  std::uint64_t late = 0;          // samples more than one interval late
  double lateness_mean = 0, lateness_max = 0;  // seconds
  double elapsed = 0;              // seconds of recording
  double sampling_seconds = 0;     // of them, spent reading the targets
  std::vector<std::string> files;  // profiles written (--rotate: one an interval); "<stdout>" for standard output
  std::vector<FunctionShare> top_self;  // the functions with the most self time (up to five), most first
  std::vector<std::string> notes;  // what the user should know (the method chosen, malformed lines, ...)

  enum class Program {
    attached,                 // --pid: nothing launched
    exited,                   // the launched program ended by itself (or by Ctrl-C/SIGTERM forwarded to it)
    stopped,                  // still running at --duration: sent SIGTERM
    never_python,             // -- COMMAND ended without becoming Python: nothing written
    ended_before_first_line,  // Python ended before the script's (module's) first line: nothing written
  };
  Program program = Program::attached;
  std::string command;  // the launched program's name, for messages
  int exit_code = 0;    // the launched program's, as a shell reports it (128+signal)
};

// Live progress, on a terminal.
using ProgressCallback = std::function<void(const RecordProgress&)>;

// pyfold top's view of a recording: its sink takes the stacks (the profile's writer then writes nothing), and the
// launched program's output goes elsewhere (the view owns the terminal).
struct LiveView {
  StackSink* sink = nullptr;
  int program_output_fd = -1;  // the launched program's stdout and stderr; -1: as pyfold record sets them
};

// What the sampler of either method samples by.
inline SamplingSettings sampling_settings(const RecordOptions& o) {
  SamplingSettings s;
  s.rate = o.rate;
  s.mode = o.mode;
  s.threads = o.threads;
  s.lines = o.function ? SamplingSettings::Lines::function : o.nolineno ? SamplingSettings::Lines::none
                                                                        : SamplingSettings::Lines::line;
  s.keep_startup = o.include_startup;
  return s;
}

// The launched program as messages name it: the script, `-m module`, or the command.
std::string program_name(const RecordTarget& target);

// How each profile is written and handed on: --format, --on-rotate, the sample type of pprof.
inline ProfileOutput profile_output(const RecordOptions& options, pid_t pid) {
  ProfileOutput out;
  out.format = options.format;
  out.handoff = options.on_rotate;
  out.pprof.rate = options.rate;
  out.pprof.sample_type = options.mode == SampleMode::wall ? "wall" : "cpu";
  out.pid = pid;
  return out;
}

}  // namespace pyfold::record
