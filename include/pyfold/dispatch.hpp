#pragma once
// The `pyfold` front end: `pyfold SUBCOMMAND ARGS...` runs the executable `pyfold-SUBCOMMAND` with ARGS, git-style,
// so each stage stays its own small binary.
#include <string>
#include <vector>

namespace pyfold {

struct Subcommand {
  const char* name;     // "record": runs pyfold-record
  const char* summary;  // one line for `pyfold --help`
};

// The subcommands `pyfold --help` lists, in order.
const std::vector<Subcommand>& subcommands();

// Where pyfold-NAME is: beside self_exe when it is there, else found on PATH; "" when neither.
std::string find_subcommand(const std::string& self_exe, const std::string& name);

// The first executable regular file named `file` in PATH's directories (as execvp searches them; PATH unset:
// /usr/local/bin:/usr/bin:/bin), or "".
std::string find_on_path(const std::string& file);

// Handles --help / --version / no arguments itself; otherwise replaces this process with the subcommand
// (returns only on failure, with a message on stderr and exit code 2 for an unknown subcommand, 1 otherwise).
int dispatch_subcommand(const char* program, int argc, char** argv);

}  // namespace pyfold
