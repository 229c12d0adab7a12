#pragma once
// Launching the program to record, and finding processes in its tree.
#include <sys/types.h>

#include <string>
#include <vector>

namespace pyfold::record {

// Forks and execs command (PATH searched) in pyfold's process group, so Ctrl-C reaches both. Throws IoError when
// the command cannot be started. stdout_to_stderr: the program's standard output goes to pyfold's standard error,
// because pyfold's standard output carries the folded stacks.
pid_t launch(const std::vector<std::string>& command, bool stdout_to_stderr = false);

// The direct children of pid (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// /proc/PID/cmdline with spaces between the arguments.
std::string command_line_of(pid_t pid);

// The exit status as a shell reports it: the exit code, or 128+signal.
int exit_code_of(int wait_status);

}  // namespace pyfold::record
