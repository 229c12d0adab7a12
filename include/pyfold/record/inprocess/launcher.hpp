#pragma once
// The in-process method of pyfold record, for machines that refuse to let one process read another's memory
// (no CAP_SYS_PTRACE, Yama ptrace_scope 2 or 3, seccomp): pyfold starts Python with a small bootstrap of ours
// (src/core/record/inprocess/bootstrap.py, embedded at build time) that runs the script or module unchanged,
// samples every thread's stack on a timer (SIGALRM for wall, SIGPROF for cpu; sys._current_frames()) and streams
// folded lines to pyfold over a pipe. The same output, exit code passthrough and Ctrl-C behaviour as the remote
// method.
#include "pyfold/record/record_options.hpp"

namespace pyfold::record {

// Throws std::invalid_argument for what the in-process method cannot do (--pid, -- COMMAND, --mode gil,
// --subprocesses, --blocking): choose_method calls it, before anything is launched or drawn.
void check_inprocess(const RecordOptions& options, const RecordTarget& target);

// Records target (script.py or -m: target.python_program) from inside, once check_inprocess has passed.
RecordReport record_inprocess(const RecordOptions& options, const RecordTarget& target,
                              const ProgressCallback& progress = {}, const LiveView* live = nullptr);

}  // namespace pyfold::record
