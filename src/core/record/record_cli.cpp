// pyfold record's command line. Options come first; the script, `-m MODULE` or `--` ends them.
#include <boost/program_options.hpp>
#include <sstream>
#include <stdexcept>

#include "pyfold/record/recorder.hpp"

namespace po = boost::program_options;

namespace pyfold::record {

RecordCommandLine parse_record_command_line(int argc, const char* const* argv) {
  RecordCommandLine cli;
  RecordOptions& o = cli.options;  // the defaults, shown by --help
  std::string mode = "wall", method = "auto";
  int pid = 0;
  po::options_description visible(
      "Usage: pyfold record [OPTIONS] script.py [ARGS...]\n"
      "       pyfold record [OPTIONS] -m MODULE [ARGS...]\n"
      "       pyfold record [OPTIONS] -- COMMAND [ARGS...]\n"
      "       pyfold record [OPTIONS] --pid PID\n"
      "Samples a CPython 3.8-3.15 program from outside its process and writes folded stacks\n"
      "(`func (file:line)` frames, root first, one merged line per stack).\n\nOptions");
  visible.add_options()
    ("help", "this message")("version", "print the version")
    ("pid,p", po::value(&pid)->value_name("PID"), "attach to a running process (it keeps running afterwards)")
    ("rate,r", po::value(&o.rate)->default_value(o.rate)->value_name("HZ"), "samples per second")
    ("duration,d", po::value(&o.duration)->value_name("SECONDS"), "stop after this long [until the program ends]")
    ("output,o", po::value(&o.output)->value_name("FILE"), "write here (.gz: gzip) [stdout]")
    ("mode", po::value(&mode)->default_value(mode)->value_name("wall|cpu|gil"),
     "wall: every thread at every sample; cpu: running threads only; gil: the GIL holder only")
    ("threads", po::bool_switch(&o.threads), "a root frame per thread: `thread (TID): NAME`")
    ("subprocesses", po::bool_switch(&o.subprocesses),
     "also sample Python child processes, under a root frame `process PID:\"cmdline\"`")
    ("function", po::bool_switch(&o.function), "aggregate by function (its first line)")
    ("nolineno", po::bool_switch(&o.nolineno), "no line numbers")
    ("timeline", po::bool_switch(&o.timeline), "samples in time order, repeats merged (for flame charts)")
    ("blocking", po::bool_switch(&o.blocking), "pause the threads while reading them (exact stacks, slower)")
    ("quiet,q", po::bool_switch(&o.quiet), "no summary or progress on stderr")
    ("python", po::value(&o.python)->default_value(o.python)->value_name("PATH"),
     "interpreter for script.py and -m")
    ("method", po::value(&method)->default_value(method)->value_name("remote|inprocess|auto"),
     "remote: read the program from outside; inprocess: a sampler inside it (where remote reads are refused; "
     "script.py or -m only); auto: remote if this machine allows it");

  // Split: options, then the program (script / -m / --).
  std::vector<std::string> options{argv[0]};
  std::vector<std::string> program;
  std::string module;
  bool dashdash = false;
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
      auto* option = visible.find_nothrow(name, a[1] != '-');
      if (option && option->semantic()->max_tokens() > 0 && !inline_value && i + 1 < argc) options.push_back(argv[++i]);
      continue;
    }
    program.assign(argv + i, argv + argc);  // the script and its arguments
    break;
  }
  std::vector<const char*> option_argv;
  for (const auto& s : options) option_argv.push_back(s.c_str());
  po::variables_map vm;
  po::store(po::command_line_parser(static_cast<int>(option_argv.size()), option_argv.data()).options(visible).run(),
            vm);
  po::notify(vm);
  std::ostringstream help;
  help << visible
       << "\nOn Ctrl-C, SIGTERM, --duration or the program's exit, every sample taken is written; pyfold exits with\n"
          "the launched program's exit code. See pyfold-record(1).\n";
  cli.help_text = help.str();
  cli.help = vm.count("help") > 0;
  cli.version = vm.count("version") > 0;
  if (cli.help || cli.version) return cli;

  if (method == "remote") o.method = RecordMethod::remote;
  else if (method == "inprocess") o.method = RecordMethod::inprocess;
  else if (method == "auto") o.method = RecordMethod::automatic;
  else throw std::invalid_argument("--method is remote, inprocess or auto, not '" + method + "'");
  if (mode == "wall") o.mode = SampleMode::wall;
  else if (mode == "cpu") o.mode = SampleMode::cpu;
  else if (mode == "gil") o.mode = SampleMode::gil;
  else throw std::invalid_argument("--mode is wall, cpu or gil, not '" + mode + "'");
  if (o.function && o.nolineno) throw std::invalid_argument("--function and --nolineno exclude each other");
  if (!(o.rate > 0 && o.rate <= 100000)) throw std::invalid_argument("--rate must be above 0 and at most 100000");
  if (o.duration < 0) throw std::invalid_argument("--duration must not be negative");
  bool has_program = dashdash || !module.empty() || !program.empty();
  if (pid > 0 && has_program) throw std::invalid_argument("--pid and a program to run exclude each other");
  if (pid <= 0 && !has_program) throw std::invalid_argument("nothing to record: give a script, -m MODULE, -- COMMAND or --pid");
  if (dashdash && program.empty()) throw std::invalid_argument("-- needs a command");
  cli.target.pid = pid > 0 ? pid : 0;
  if (!module.empty()) {
    cli.target.python_program = true;
    cli.target.command = {o.python, "-m", module};
    cli.target.command.insert(cli.target.command.end(), program.begin(), program.end());
  } else if (dashdash) {
    cli.target.command = program;
  } else if (!program.empty()) {
    cli.target.python_program = true;
    cli.target.command = {o.python};
    cli.target.command.insert(cli.target.command.end(), program.begin(), program.end());
  }
  return cli;
}

}  // namespace pyfold::record
