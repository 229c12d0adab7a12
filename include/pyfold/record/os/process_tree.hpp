#pragma once
// Finding processes in a launched program's tree (launching is run_control's).
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace pyfold::record {

// The direct children of pid (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// roots and every process below them (children_of, breadth first), each once, roots first; at most limit.
std::vector<pid_t> descendants_of(const std::vector<pid_t>& roots, std::size_t limit = 4096);

// A process's place among processes, from /proc/PID/stat.
struct ProcessIds {
  pid_t parent = 0, group = 0, session = 0;
  char state = '?';  // 'Z': exited, waiting to be reaped
};
// False when the process has gone (or /proc cannot be read).
bool process_ids(pid_t pid, ProcessIds& ids);

// /proc/PID/cmdline with spaces between the arguments.
std::string command_line_of(pid_t pid);

// The exit status as a shell reports it: the exit code, or 128+signal.
int exit_code_of(int wait_status);

}  // namespace pyfold::record
