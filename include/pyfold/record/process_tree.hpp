#pragma once
// Launching the program to record, and finding processes in its tree.
#include <sys/types.h>

#include <string>
#include <vector>

namespace pyfold::record {

// Forks and execs command (PATH searched) in pyfold's process group, so Ctrl-C reaches both. Throws IoError when
// the command cannot be started.
pid_t launch(const std::vector<std::string>& command);

// The direct children of pid (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// /proc/PID/cmdline with spaces between the arguments.
std::string command_line_of(pid_t pid);

// The exit status as a shell reports it: the exit code, or 128+signal.
int exit_code_of(int wait_status);

}  // namespace pyfold::record
