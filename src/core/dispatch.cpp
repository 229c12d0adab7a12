#include "pyfold/dispatch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "pyfold/cli.hpp"
#include "pyfold/command_line.hpp"

namespace pyfold {

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> list = {
      {"record", "sample a running Python program from outside into folded stacks"},
      {"top", "watch live where a running Python program spends its time"},
      {"dump", "print the current stack of every thread of a Python process, once"},
      {"collapse", "pstats, perf script, austin, py-spy, speedscope to folded stacks; merge, filter"},
      {"diff", "compare two profiles as differential folded stacks"},
  };
  return list;
}

namespace {

bool executable(const std::string& path) {
  struct stat st;
  return !path.empty() && access(path.c_str(), X_OK) == 0 && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string self_exe_path() {
  char buffer[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return {};
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::string help_text() {
  std::string text =
      "Usage: pyfold SUBCOMMAND [OPTIONS] [ARGS...]\n"
      "Flame graphs for Python programs. Each subcommand is its own program, pyfold-SUBCOMMAND.\n\nSubcommands:\n";
  for (const Subcommand& s : subcommands()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-10s %s\n", s.name, s.summary);
    text += line;
  }
  text +=
      "\nRenderers: pyflame-svg (interactive SVG), pyflame-speedscope (speedscope JSON), pyflame-pprof (pprof),\n"
      "pyflame-html (HTML report: flame graph, hot functions, source lines).\n"
      "'pyfold SUBCOMMAND --help' describes one. See pyfold(1).\n";
  return text;
}

}  // namespace

std::string find_subcommand(const std::string& self_exe, const std::string& name) {
  const std::string file = "pyfold-" + name;
  auto slash = self_exe.rfind('/');
  if (slash != std::string::npos) {
    std::string beside = self_exe.substr(0, slash + 1) + file;
    if (executable(beside)) return beside;
  }
  return find_on_path(file);
}

std::string find_on_path(const std::string& file) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + file;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

int dispatch_subcommand(const char* program, int argc, char** argv) {
  if (argc < 2) {
    std::fputs(help_text().c_str(), stderr);
    return 2;
  }
  std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && argc > 2) {
      // `pyfold help record` is `pyfold-record --help`.
      static char help_flag[] = "--help";
      char* args[] = {argv[0], argv[2], help_flag, nullptr};
      return dispatch_subcommand(program, 3, args);
    }
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  if (first == kOptionsTableFlag) {  // for the completion generator: the subcommands, as the table of each tool
    std::printf("usage\tpyfold SUBCOMMAND [OPTIONS] [ARGS...]\n");
    std::printf("option\thelp\t-h\t0\t\t\tthis message\noption\tversion\t-V\t0\t\t\tprint the version\n");
    for (const Subcommand& s : subcommands()) std::printf("subcommand\t%s\t%s\n", s.name, s.summary);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::printf("%s\n", version_line(program).c_str());
    return 0;
  }
  std::string name(first);
  bool known = false;
  for (const Subcommand& s : subcommands()) known = known || name == s.name;
  std::string binary = find_subcommand(self_exe_path(), name);
  if (binary.empty()) {
    if (!known) {
      std::fprintf(stderr, "%s: '%s' is not a subcommand. Try '%s --help'.\n", program, name.c_str(), program);
      return 2;
    }
    std::fprintf(stderr, "%s: cannot find pyfold-%s beside %s or on PATH\n", program, name.c_str(),
                 self_exe_path().c_str());
    return 1;
  }
  std::string arg0 = "pyfold-" + name;
  argv[1] = arg0.data();
  execv(binary.c_str(), argv + 1);
  std::fprintf(stderr, "%s: cannot run %s: %s\n", program, binary.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace pyfold
