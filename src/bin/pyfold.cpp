// pyfold: runs its subcommands git-style. `pyfold record ...` executes `pyfold-record ...`, found beside this
// binary first (a build directory or an install prefix), then on PATH.
#include <cstdio>

#include "pyfold/cli.hpp"
#include "pyfold/dispatch.hpp"

int main(int argc, char** argv) {
  return pyfold::run_cli("pyfold", [&] { return pyfold::dispatch_subcommand("pyfold", argc, argv); });
}
