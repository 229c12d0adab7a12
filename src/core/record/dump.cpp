// pyfold dump: one consistent read of every thread (retried when torn), innermost frame first.
#include "pyfold/record/dump.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "pyfold/frame_text.hpp"
#include "pyfold/record/native_sampler.hpp"
#include "pyfold/record/python_process.hpp"

namespace po = boost::program_options;

namespace pyfold::record {

DumpCommandLine parse_dump_command_line(int argc, const char* const* argv) {
  DumpCommandLine cli;
  int pid = 0;
  po::options_description visible(
      "Usage: pyfold dump [--native] --pid PID\n"
      "Prints the current Python stack of every thread of a running CPython 3.8-3.15 process, innermost frame "
      "first,\nwith each thread's id, name and state (active, idle, gil). The process keeps running.\n\nOptions");
  visible.add_options()("help", "this message")("version", "print the version")(
      "pid,p", po::value(&pid)->value_name("PID"), "the process to read")(
      "nolineno", po::bool_switch(&cli.options.nolineno), "no line numbers")(
      "native", po::bool_switch(&cli.options.native),
      "C/C++ frames too, among the Python frames as they nest (each thread stopped alone for the moment)")(
      "native-all", po::bool_switch(&cli.options.native_all),
      "--native keeping every native frame: the interpreter's own and the thread's start");
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(visible).run(), vm);
  po::notify(vm);
  std::ostringstream help;
  help << visible << "\nSee pyfold-dump(1).\n";
  cli.help_text = help.str();
  cli.help = vm.count("help") > 0;
  cli.version = vm.count("version") > 0;
  if (!cli.help && !cli.version && pid <= 0) throw po::error("--pid PID is required");
  cli.options.pid = pid;
  if (cli.options.native_all) cli.options.native = true;
  return cli;
}

int dump_stacks(const DumpOptions& options) {
  auto process = PythonProcess::attach(options.pid);
  std::vector<ThreadStack> stacks;
  PythonProcess::Read result = PythonProcess::Read::torn;
  for (int attempt = 0; attempt < 100 && result == PythonProcess::Read::torn; ++attempt)
    result = process->read_stacks(stacks);
  if (result == PythonProcess::Read::gone) {
    std::fprintf(stderr, "pyfold-dump: process %d exited\n", options.pid);
    return 1;
  }
  if (result == PythonProcess::Read::torn) {
    std::fprintf(stderr, "pyfold-dump: no consistent stack after 100 reads (%s)\n",
                 process->last_torn_reason().c_str());
    return 1;
  }
  std::string cmdline;
  {
    std::ifstream in("/proc/" + std::to_string(options.pid) + "/cmdline");
    std::getline(in, cmdline, '\0');
  }
  ThreadStatReader stat(options.pid);
  // --native: each thread stopped alone, unwound, read again and let go (its Python frames as at that moment).
  std::unique_ptr<NativeSampler> native;
  if (options.native) native = std::make_unique<NativeSampler>(*process, options.native_all);
  ThreadStack native_thread;
  std::vector<MergedFrame> merged;
  std::string out = "Process " + std::to_string(options.pid) + ": " + cmdline + "\nPython " + process->version() +
                    " (" + process->runtime_file() + ")\n";
  for (const ThreadStack& t : stacks) {
    char state = t.tid ? stat.state(t.tid) : '?';
    bool active = state == 'R' || t.holds_gil;
    out += "\nThread " + std::to_string(t.tid) + " (" + (active ? "active" : "idle") + (t.holds_gil ? "+gil" : "") +
           "): \"";
    std::string name = process->python_thread_name(t.thread_id);  // threading.Thread's name, else the OS's
    if (name.empty() && t.tid) name = thread_name(options.pid, t.tid);
    append_sanitized(out, name);
    out += "\"\n";
    const char* native_problem = nullptr;
    if (native) {
      native_thread = t;
      native_problem = native->sample(native_thread, false, merged);
    }
    if (native && !native_problem) {
      for (auto f = merged.rbegin(); f != merged.rend(); ++f) {
        out += "    ";
        if (f->python) {
          append_frame_text(out, f->python->code->name, f->python->code->filename,
                            options.nolineno ? 0 : f->python->line);
        } else {
          append_frame_text(out, f->native->name, f->native->module, 0);
        }
        out += '\n';
      }
      continue;
    }
    for (const FrameRef& f : t.frames) {
      out += "    ";
      append_frame_text(out, f.code->name, f.code->filename, options.nolineno ? 0 : f.line);
      out += '\n';
    }
    if (native_problem) out += std::string("    (") + native_problem + ")\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace pyfold::record
