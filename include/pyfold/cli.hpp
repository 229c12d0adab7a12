#pragma once
// What every pyfold binary does at its edge: turn errors into messages and exit codes.
//   0 success; 1 an input or output could not be used; 2 bad input (strict mode, empty input) or bad usage;
//   141 the reader of our output went away (as if killed by SIGPIPE), without a message.
#include <functional>
#include <string>

namespace pyfold {

// Runs body and maps its exceptions to "program: message" on stderr and an exit code.
int run_cli(const char* program, const std::function<int()>& body);

// "program (pyfold) VERSION"
std::string version_line(const char* program);

}  // namespace pyfold
