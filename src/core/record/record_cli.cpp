// pyfold record's command line. Options come first; the script, `-m MODULE` or `--` ends them.
#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "pyfold/command_line.hpp"
#include "pyfold/dispatch.hpp"
#include "pyfold/record/recorder.hpp"

namespace po = boost::program_options;

namespace pyfold::record {

namespace {

// The text forms of the options that are read into something else, and --pid.
struct Choices {
  std::string mode = "wall", method = "auto", async_mode;
  std::string format = "folded";  //
  bool async = false;
  int pid = 0;
};

// pyfold record's options, read into o and c; the defaults are o's, shown by --help. other: another command that
// samples the same way (pyfold top): only the options that change what is sampled, then its own.
po::options_description option_table(RecordOptions& o, Choices& c, const SamplingCommand* other = nullptr) {
  std::string& mode = c.mode;
  std::string& method = c.method;
  std::string& async_mode = c.async_mode;
  bool& async = c.async;
  int& pid = c.pid;
  std::string& format = c.format;
  po::options_description visible(
      other ? other->usage
            : "Usage: pyfold record [OPTIONS] script.py [ARGS...]\n"
              "       pyfold record [OPTIONS] -m MODULE [ARGS...]\n"
              "       pyfold record [OPTIONS] -- COMMAND [ARGS...]\n"
              "       pyfold record [OPTIONS] --pid PID\n"
              "Samples a CPython 3.8-3.15 program from outside its process and writes folded stacks\n"
              "(`func (file:line)` frames, root first, one merged line per stack).\n\nOptions");
  add_help_and_version(visible)
    ("pid,p", po::value(&pid)->value_name("PID"), "attach to a running process (it keeps running afterwards)")
    ("rate,r", po::value(&o.rate)->default_value(o.rate)->value_name("HZ"), "samples per second");
  if (!other) visible.add_options()
    ("duration,d", po::value(&o.duration)->value_name("SECONDS"), "stop after this long [until the program ends]")
    ("output,o", po::value(&o.output)->value_name("FILE"), "write here (.gz: gzip) [stdout]")
    ("rotate", po::value(&o.rotate)->value_name("SECONDS"),
     "one profile file every SECONDS while sampling goes on; -o names them with {time} (UTC start, "
     "20261128T064500Z), {start} and {end} (Unix seconds) or {n} (0, 1, ...)")
    // --format, --on-rotate and its companions: rotation_handoff.hpp
    ("format", po::value(&format)->default_value(format)->value_name("folded|pprof"),
     "each profile as folded stacks, or as gzip pprof (profile.proto: the sample period 1/rate, the start time "
     "and duration) for go tool pprof, Grafana Pyroscope, Parca")
    ("on-rotate", po::value(&o.on_rotate.command)->value_name("COMMAND"),
     "with --rotate: run COMMAND through /bin/sh for each file once it is complete, beside the sampling, one at a "
     "time; {file} {start} {end} {time} {n} {pid} {rate} are replaced by their values, quoted for the shell")
    ("on-rotate-delete", po::bool_switch(&o.on_rotate.delete_after),
     "remove each file once its --on-rotate command exited with 0 (a failed command's file is kept)")
    ("on-rotate-queue", po::value(&o.on_rotate.queue)->default_value(o.on_rotate.queue)->value_name("N"),
     "files that may wait while a command runs; a file beyond them is not handed on (kept, and reported)")
    ("on-rotate-wait", po::value(&o.on_rotate.wait)->default_value(o.on_rotate.wait)->value_name("SECONDS"),
     "at the end, wait this long for the commands of the files queued; then the one running is stopped");
  visible.add_options()
    ("mode", po::value(&mode)->default_value(mode)->value_name("wall|cpu|gil"),
     "wall: every thread at every sample; cpu: running threads only; gil: the GIL holder only");
  if (!other) visible.add_options()
    ("threads", po::bool_switch(&o.threads), "a root frame per thread: `thread (TID): NAME`");
  visible.add_options()
    ("subprocesses", po::bool_switch(&o.subprocesses),
     "also sample Python child processes, under a root frame `process PID:\"cmdline\"` (with --pid of a "
     "process that is not Python: its Python descendants, also those it starts later)");
  if (!other) visible.add_options()
    ("function", po::bool_switch(&o.function), "aggregate by function (its first line)")
    ("nolineno", po::bool_switch(&o.nolineno), "no line numbers")
    ("timeline", po::bool_switch(&o.timeline), "samples in time order, repeats merged (for flame charts)");
  visible.add_options()
    ("blocking", po::bool_switch(&o.blocking), "pause the threads while reading them (exact stacks, slower)")
    ("nonblocking", po::bool_switch(&o.nonblocking),
     "read the threads while they run, from another CPU: the least cost to the program, but on code that calls "
     "every 50-100 ns time moves between neighbouring functions (by default the sampler reads the thread holding "
     "the GIL while it is off its CPU)");
  if (!other) visible.add_options()
    ("check-reads", po::bool_switch(&o.check_reads),
     "test the default method: read each sample again with the program stopped, at the same instant, and say in "
     "the summary how many reads differed (slow: for testing pyfold)");
  visible.add_options()
    ("native", po::bool_switch(&o.native),
     "C/C++ frames too (extensions, libraries, system calls), merged with the Python frames; each sampled thread "
     "is stopped alone for the moment its native stack is unwound")
    ("native-all", po::bool_switch(&o.native_all),
     "--native keeping every native frame: the interpreter's own between Python frames and the thread's start")
    ("include-startup", po::bool_switch(&o.include_startup),
     "keep the interpreter's start-up (what runs before the script's or module's first line; left out by default)");
  if (!other) visible.add_options()
    ("quiet,q", po::bool_switch(&o.quiet), "no summary or progress on stderr");
  visible.add_options()
    ("python", po::value(&o.python)->default_value(o.python)->value_name("PATH"),
     "interpreter for script.py and -m")
    ("method", po::value(&method)->default_value(method)->value_name("remote|inprocess|auto"),
     "remote: read the program from outside; inprocess: pyfold's sampler inside it (where remote reads are refused; "
     "script.py or -m only); auto: remote if this machine allows it")
    ("async", po::bool_switch(&async),
     "asyncio programs drawn as their tasks: each task's await chain under `<task> NAME` and the tasks awaiting it "
     "(CPython 3.14+ from outside; 3.8-3.13 with --method inprocess, which auto chooses for them)")
    ("async-mode", po::value(&async_mode)->value_name("running|all"),
     "with --async, the tasks each sample counts: the running one, or all (waiting ones where they await) "
     "[all with --mode wall, running with cpu and gil]");
  if (other && other->add_options) other->add_options(visible);
  return visible;
}

// The command line split at the program: pyfold's options (argv[0] first), and the script, -m MODULE or -- COMMAND.
struct SplitArguments {
  std::vector<std::string> options;
  std::vector<std::string> program;
  std::string module;
  bool dashdash = false;
};

SplitArguments split_arguments(int argc, const char* const* argv, const po::options_description& visible) {
  SplitArguments split;
  split.options.push_back(argv[0]);
  std::vector<std::string>& options = split.options;
  std::vector<std::string>& program = split.program;
  std::string& module = split.module;
  bool& dashdash = split.dashdash;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      dashdash = true;
      program.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "-m") {
      if (i + 1 >= argc) throw po::error("-m needs a module name");
      module = argv[i + 1];
      program.assign(argv + i + 2, argv + argc);
      break;
    }
    if (a.size() > 1 && a[0] == '-') {
      options.push_back(a);
      std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : a.substr(1, 1);
      bool inline_value = a.find('=') != std::string::npos || (a[1] != '-' && a.size() > 2);
      // A short option by its letter (never guessed: -r is --rate, not a prefix of --rate or --rotate).
      auto* option = a[1] != '-' ? visible.find_nothrow("-" + name, false) : visible.find_nothrow(name, true);
      if (option && option->semantic()->max_tokens() > 0 && !inline_value && i + 1 < argc) options.push_back(argv[++i]);
      continue;
    }
    program.assign(argv + i, argv + argc);  // the script and its arguments
    break;
  }
  return split;
}

// The choices read into o: --method, --mode, --async and --async-mode.
void apply_choices(const Choices& c, RecordOptions& o) {
  if (c.method == "remote") o.method = RecordMethod::remote;
  else if (c.method == "inprocess") o.method = RecordMethod::inprocess;
  else if (c.method == "auto") o.method = RecordMethod::automatic;
  else throw std::invalid_argument("--method is remote, inprocess or auto, not '" + c.method + "'");
  if (c.mode == "wall") o.mode = SampleMode::wall;
  else if (c.mode == "cpu") o.mode = SampleMode::cpu;
  else if (c.mode == "gil") o.mode = SampleMode::gil;
  else throw std::invalid_argument("--mode is wall, cpu or gil, not '" + c.mode + "'");
  if (!c.async_mode.empty() && !c.async) throw std::invalid_argument("--async-mode needs --async");
  if (c.async) {
    std::string async_mode = c.async_mode;
    if (async_mode.empty()) async_mode = o.mode == SampleMode::wall ? "all" : "running";
    if (async_mode == "running") o.async = AsyncSampling::running;
    else if (async_mode == "all") o.async = AsyncSampling::all;
    else throw std::invalid_argument("--async-mode is running or all, not '" + async_mode + "'");
  }
  if (o.native_all) o.native = true;
}

// Options that do not go together, and values out of range.
// --format, and --on-rotate with its companions (rotation_handoff.hpp).
void apply_output_choices(const Choices& c, const po::variables_map& vm, RecordOptions& o) {
  o.format = parse_profile_format(c.format);
  if (vm.count("on-rotate") && !(o.rotate > 0)) throw std::invalid_argument("--on-rotate needs --rotate");
  if (vm.count("on-rotate") && o.on_rotate.command.empty()) throw std::invalid_argument("--on-rotate needs a command");
  std::string problem = command_template_problem(o.on_rotate.command);
  if (!problem.empty()) throw std::invalid_argument("--on-rotate: " + problem + " in '" + o.on_rotate.command + "'");
  for (const char* name : {"on-rotate-delete", "on-rotate-queue", "on-rotate-wait"})
    if (!vm[name].defaulted() && o.on_rotate.command.empty())
      throw std::invalid_argument(std::string("--") + name + " needs --on-rotate");
  if (!(o.on_rotate.wait >= 0)) throw std::invalid_argument("--on-rotate-wait must not be negative");
}

void check_options(const RecordOptions& o, bool async, bool rotate_given) {
  if (async && o.native)
    throw std::invalid_argument("--native and --async do not combine yet: a waiting task has no native stack");
  if (o.function && o.nolineno) throw std::invalid_argument("--function and --nolineno exclude each other");
  if (o.blocking && o.nonblocking) throw std::invalid_argument("--blocking and --nonblocking exclude each other");
  if (o.check_reads && (o.blocking || o.nonblocking || o.native || async))
    throw std::invalid_argument(
        "--check-reads tests the default method: not with --blocking, --nonblocking, --native or --async");
  check_rate(o.rate);
  if (o.duration < 0) throw std::invalid_argument("--duration must not be negative");
  if (rotate_given && !(o.rotate >= 1)) throw std::invalid_argument("--rotate must be at least 1 second");
}

// A first word that names a program, not a script (`pyfold record python3 app.py`, as austin takes it): the
// problem, or "" for a script (or a path that is missing: Python says so, and pyfold ends with its exit code).
// Said before anything runs, instead of Python's "can't open file '…/python3'" from the launched interpreter.
std::string program_not_script(const std::string& word) {
  struct stat st;
  if (::stat(word.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return {};
    char magic[4] = {0, 0, 0, 0};
    if (FILE* f = std::fopen(word.c_str(), "rb")) {
      const std::size_t got = std::fread(magic, 1, sizeof magic, f);
      std::fclose(f);
      if (got == sizeof magic && std::memcmp(magic, "\x7f" "ELF", 4) == 0) return word + " is a program, not a Python script";
    }
    return {};
  }
  if (word.find('/') != std::string::npos) return {};
  const std::string on_path = find_on_path(word);
  return on_path.empty() ? std::string() : word + ": no such file here, but " + on_path + " is a program on PATH";
}

// What to record: --pid, or the program (script and -m run by --python).
RecordTarget make_target(int pid, const SplitArguments& split, const std::string& python) {
  bool has_program = split.dashdash || !split.module.empty() || !split.program.empty();
  if (pid > 0 && has_program) throw std::invalid_argument("--pid and a program to run exclude each other");
  if (pid <= 0 && !has_program) throw std::invalid_argument("nothing to record: give a script, -m MODULE, -- COMMAND or --pid");
  if (split.dashdash && split.program.empty()) throw std::invalid_argument("-- needs a command");
  RecordTarget target;
  target.pid = pid > 0 ? pid : 0;
  if (!split.module.empty()) {
    target.python_program = true;
    target.command = {python, "-m", split.module};
    target.command.insert(target.command.end(), split.program.begin(), split.program.end());
  } else if (split.dashdash) {
    target.command = split.program;
  } else if (!split.program.empty()) {
    const std::string problem = program_not_script(split.program.front());
    if (!problem.empty()) {
      std::string command;
      for (const std::string& word : split.program) command += " " + word;
      throw std::invalid_argument(problem + ": to run a command, put it after --, as in `--" + command + "`");
    }
    target.python_program = true;
    target.command = {python};
    target.command.insert(target.command.end(), split.program.begin(), split.program.end());
  }
  return target;
}

}  // namespace

namespace {

RecordCommandLine parse_command_line(int argc, const char* const* argv, const SamplingCommand* other) {
  RecordCommandLine cli;
  RecordOptions& o = cli.options;  // the defaults, shown by --help
  Choices choices;
  const po::options_description visible = option_table(o, choices, other);
  answer_options_table_request(argc, argv, visible);
  const SplitArguments split = split_arguments(argc, argv, visible);
  std::vector<const char*> option_argv;
  for (const auto& s : split.options) option_argv.push_back(s.c_str());
  po::variables_map vm;
  po::store(po::command_line_parser(static_cast<int>(option_argv.size()), option_argv.data()).options(visible).run(),
            vm);
  po::notify(vm);
  std::ostringstream help;
  help << visible
       << (other ? other->help_end
                 : "\nOn Ctrl-C, SIGTERM, --duration or the program's exit, every sample recorded is written; pyfold "
                   "exits\nwith the launched program's exit code. A program that ends before its own first line (a "
                   "missing script or\nmodule) writes no profile. Then the launched program and every process it "
                   "started are ended (SIGINT,\nSIGTERM, SIGKILL); a --pid process never is. See pyfold-record(1).\n");
  cli.help_text = help.str();
  cli.help = vm.count("help") > 0;
  cli.version = vm.count("version") > 0;
  if (cli.help || cli.version) return cli;
  apply_choices(choices, o);
  check_options(o, choices.async, vm.count("rotate") > 0);
  if (!other) apply_output_choices(choices, vm, o);
  cli.target = make_target(choices.pid, split, o.python);
  return cli;
}

}  // namespace

RecordCommandLine parse_record_command_line(int argc, const char* const* argv) {
  return parse_command_line(argc, argv, nullptr);
}

RecordCommandLine parse_sampling_command_line(int argc, const char* const* argv, const SamplingCommand& command) {
  return parse_command_line(argc, argv, &command);
}

namespace {

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...) {
  char text[512];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(text, sizeof text, pattern, args);
  va_end(args);
  return text;
}

unsigned long long ull(std::uint64_t n) { return static_cast<unsigned long long>(n); }

}  // namespace

std::string summary_text(const RecordReport& r) {
  std::uint64_t not_recorded = 0;
  for (const auto& [reason, n] : r.not_recorded) not_recorded += n;
  std::string s = format("pyfold-record: %llu samples in %.2f s (%.0f Hz", ull(r.samples), r.elapsed,
                         r.elapsed > 0 ? static_cast<double>(r.samples) / r.elapsed : 0.0);
  if (r.method != "remote") s += ", " + r.method + " method";
  s += format("): %llu recorded", ull(r.recorded));
  if (r.startup) s += format(", %llu start-up left out (--include-startup keeps it)", ull(r.startup));
  s += format(", %llu not recorded", ull(not_recorded));
  if (r.method == "remote" || r.reads) s += format(", %llu retries", ull(r.retries));
  if (r.retries_with_thread_stopped) s += format(" (%llu with the thread stopped)", ull(r.retries_with_thread_stopped));
  if (r.samples_read_program_stopped)
    s += format(", %llu read with the program stopped (the thread holding the GIL was running elsewhere)",
                ull(r.samples_read_program_stopped));
  s += format("; %llu stack lines counted\n", ull(r.stack_count));
  const RecordReport::CheckedReads& c = r.checked_reads;
  if (c.same + c.differed + c.not_compared)
    s += format("pyfold-record: --check-reads: %llu reads off the CPU the same as with the program stopped, %llu "
                "different, %llu not compared (the thread ran before the stop)\n",
                ull(c.same), ull(c.differed), ull(c.not_compared));
  if (!c.first_difference.empty()) s += "pyfold-record: --check-reads: the first that differed, " + c.first_difference;
  if ((r.method == "remote" || r.reads) && r.samples) {  // (the in-process method's native sampler reads too)
    s += format("pyfold-record: %.1f us per sample (%.1f reads); lateness mean %.0f us, max %.1f ms, %llu samples "
                "more than one interval late\n",
                1e6 * r.sampling_seconds / static_cast<double>(r.samples),
                static_cast<double>(r.reads) / static_cast<double>(r.samples), 1e6 * r.lateness_mean,
                1e3 * r.lateness_max, ull(r.late));
  }
  for (const auto& [reason, n] : r.not_recorded) s += format("pyfold-record: not recorded: %llu, %s\n", ull(n), reason.c_str());
  if (r.late * 10 > r.samples && r.samples > 100)
    s += "pyfold-record: sampling fell behind; results may be inaccurate (try a lower --rate)\n";
  if (r.files.size() > 1) s += format("pyfold-record: %zu profiles written, the last %s\n", r.files.size(), r.files.back().c_str());
  for (const auto& note : r.notes) s += "pyfold-record: " + note + "\n";
  return s;
}

std::string top_self_text(const RecordReport& r) {
  if (r.top_self.empty()) return "";
  std::string s = "pyfold-record: most self time\n   self%  function\n";
  for (const auto& f : r.top_self) s += format("  %5.1f%%  %s\n", 100 * f.self, f.function.c_str());
  return s;
}

std::string problem_text(const RecordReport& r) {
  switch (r.program) {
    case RecordReport::Program::never_python:
      return r.command + " ended (exit code " + std::to_string(r.exit_code) +
             ") without becoming Python: nothing recorded, no profile written";
    case RecordReport::Program::ended_before_first_line:
      return r.command + " ended with exit code " + std::to_string(r.exit_code) +
             " before any of its own code was sampled: no profile written";
    default:
      return "";
  }
}

int record_exit_code(const RecordReport& r) {
  switch (r.program) {
    case RecordReport::Program::attached:
    case RecordReport::Program::stopped:
      return 0;
    case RecordReport::Program::never_python:
      return r.exit_code ? r.exit_code : 1;
    default:
      return r.exit_code;
  }
}

}  // namespace pyfold::record
