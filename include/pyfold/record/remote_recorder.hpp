#pragma once
// The remote method of pyfold record: launch or attach, then read the program's memory from outside
// (process_vm_readv) on the sampling core's deadlines.
#include "pyfold/record/record_options.hpp"

namespace pyfold::record {

// Records target from outside until it ends, Ctrl-C/SIGTERM or --duration. Throws AttachError, IoError and
// std::invalid_argument.
RecordReport record_remote(const RecordOptions& options, const RecordTarget& target, const ProgressCallback& progress,
                           const LiveView* live = nullptr);

}  // namespace pyfold::record
