#pragma once
// Finding processes in a launched program's tree (launching is run_control's).
#include <sys/types.h>

#include <string>
#include <vector>

namespace pyfold::record {

// The direct children of pid (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// /proc/PID/cmdline with spaces between the arguments.
std::string command_line_of(pid_t pid);

// The exit status as a shell reports it: the exit code, or 128+signal.
int exit_code_of(int wait_status);

}  // namespace pyfold::record
