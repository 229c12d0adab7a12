// pyfold dump: one read of every thread, innermost frame first: with the process stopped for that moment (or, with
// --nonblocking, while it runs, retried when torn).
#include "pyfold/record/dump.hpp"

#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "pyfold/command_line.hpp"
#include "pyfold/frame_text.hpp"
#include "pyfold/record/cpython/asyncio_tasks.hpp"
#include "pyfold/record/cpython/object_repr.hpp"
#include "pyfold/record/native/native_sampler.hpp"
#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/os/thread_pauser.hpp"
#include "pyfold/record/run_control.hpp"

namespace po = boost::program_options;

namespace pyfold::record {

DumpCommandLine parse_dump_command_line(int argc, const char* const* argv) {
  DumpCommandLine cli;
  int pid = 0;
  po::options_description visible(
      "Usage: pyfold dump [--async] [--native | --native-all] [--locals] [--nolineno] [--nonblocking] "
      "[--subprocesses] --pid PID\n"
      "Prints the current Python stack of every thread of a running CPython 3.8-3.15 process, innermost frame "
      "first,\nwith each thread's id, name and state (active, idle, gil). The process is stopped for the moment of "
      "the read,\nso that all the stacks are of one instant, and keeps running. A PID that is not Python but has "
      "Python\ndescendants (a shell, a shim, a supervisor) is refused with their PIDs (exit status 3), or read "
      "with --subprocesses.\n\nOptions");
  add_help_and_version(visible)(
      "pid,p", po::value(&pid)->value_name("PID"), "the process to read")(
      "nolineno", po::bool_switch(&cli.options.nolineno), "no line numbers")(
      "async", po::bool_switch(&cli.options.async),
      "asyncio threads as their tasks: each task's await chain, innermost first, then the tasks awaiting it "
      "(CPython 3.14+)")(
      "native", po::bool_switch(&cli.options.native),
      "C/C++ frames too, among the Python frames as they nest (each thread stopped alone for the moment)")(
      "native-all", po::bool_switch(&cli.options.native_all),
      "--native keeping every native frame: the interpreter's own and the thread's start")(
      "locals,l", po::bool_switch(&cli.options.locals),
      "each frame's arguments and local variables, with a short repr read from memory (no code is run in the "
      "process)")(
      "subprocesses,s", po::bool_switch(&cli.options.subprocesses),
      "the Python descendants of the process too, one after another (also of a PID that is not Python itself)")(
      "nonblocking", po::bool_switch(&cli.options.nonblocking),
      "never stop the process: read the threads while they run (a stack may be of a moment later than another's; "
      "--native still stops each thread alone)");
  answer_options_table_request(argc, argv, visible);
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
  if (cli.options.native && cli.options.async)
    throw po::error("--native and --async do not combine yet: a waiting task has no native stack");
  return cli;
}

namespace {

// `Process PID: CMDLINE` and `Python 3.X (FILE)`.
std::string process_header(pid_t pid, PythonProcess& process) {
  std::string cmdline;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::getline(in, cmdline, '\0');
  return "Process " + std::to_string(pid) + ": " + cmdline + "\nPython " + process.version() + " (" +
         process.runtime_file() + ")\n";
}

// `Thread TID (active|idle[+gil]): "NAME"`: threading.Thread's name, else the OS's.
void append_thread_header(std::string& out, pid_t pid, PythonProcess& process, const ThreadStack& t, char state) {
  const bool active = state == 'R' || t.holds_gil;
  out += "\nThread " + std::to_string(t.tid) + " (" + (active ? "active" : "idle") + (t.holds_gil ? "+gil" : "") +
         "): \"";
  std::string name = process.thread_names().name(t);
  if (name.empty() && t.tid) name = thread_name(pid, t.tid);
  append_sanitized(out, name);
  out += "\"";
}

// --locals: a frame's arguments, then its other variables, as py-spy lays them out.
void append_locals(std::string& out, ObjectRepr* reprs, std::uint64_t frame) {
  if (!reprs) return;
  std::string problem;
  std::vector<LocalVariable> variables = reprs->frame_locals(frame, problem);
  if (!problem.empty()) {
    out += "        (" + problem + ")\n";
    return;
  }
  for (bool arguments : {true, false}) {
    bool first = true;
    for (const LocalVariable& v : variables) {
      if (v.argument != arguments) continue;
      if (first) out += arguments ? "        Arguments:\n" : "        Locals:\n";
      first = false;
      out += "            ";
      append_sanitized(out, v.name);
      out += ": " + v.repr + "\n";
    }
  }
}

// --native: the Python and native frames of a thread, innermost first.
void append_merged_frames(std::string& out, const std::vector<MergedFrame>& merged, bool nolineno,
                          ObjectRepr* reprs) {
  for (auto f = merged.rbegin(); f != merged.rend(); ++f) {
    out += "    ";
    if (f->python) {
      append_frame_text(out, f->python->code->name, f->python->code->filename, nolineno ? 0 : f->python->line);
      out += '\n';
      append_locals(out, reprs, f->python->address);
    } else {
      append_frame_text(out, f->native->name, f->native->module, 0);
      out += '\n';
    }
  }
}

}  // namespace

namespace {

// One process's dump into out; the exit code (a message on stderr when it is not 0).
int dump_process(pid_t pid, PythonProcess& process, const DumpOptions& options, std::string& out) {
  std::unique_ptr<AsyncioTasks> tasks;
  if (options.async) {
    if (!AsyncioTasks::supported(process.runtime())) {
      std::fprintf(stderr, "pyfold-dump: --async reads asyncio tasks from CPython 3.14 and 3.15 only; PID %d runs %s\n",
                   pid, process.version().c_str());
      return 1;
    }
    tasks = std::make_unique<AsyncioTasks>(process.memory(), process.runtime(), process.walker(), pid);
    tasks->find_offsets();  // before the read: the walker copies each thread's running task with its frames
  }
  std::vector<ThreadStack> stacks;
  std::vector<ThreadTasks> thread_tasks;
  PythonProcess::Read result = PythonProcess::Read::torn;
  const char* tasks_problem = nullptr;
  // The states first (a stopped thread reads 't'), then every thread stopped until all is read (the destructor
  // lets them go on every path). A process that cannot be stopped (ptrace refused) is read while it runs.
  ThreadStatReader stat(pid);
  std::map<pid_t, char> states;
  ThreadPauser pauser(pid);
  bool stopped = false;
  if (!options.nonblocking) {
    for (pid_t tid : task_ids(pid)) states[tid] = stat.state(tid);
    stopped = pauser.pause();
  }
  for (int attempt = 0; attempt < 100 && result == PythonProcess::Read::torn; ++attempt) {
    result = process.read_stacks(stacks);
    if (result == PythonProcess::Read::ok && tasks && (tasks_problem = tasks->read(stacks, AsyncMode::all, thread_tasks)))
      result = PythonProcess::Read::torn;
  }
  if (result == PythonProcess::Read::gone) {
    std::fprintf(stderr, "pyfold-dump: process %d exited\n", pid);
    return 1;
  }
  if (result == PythonProcess::Read::torn) {
    std::fprintf(stderr, "pyfold-dump: no consistent stack after 100 reads (%s)\n",
                 tasks_problem ? tasks_problem : process.last_torn_reason().c_str());
    return 1;
  }
  // --native: each thread unwound with its Python frames read again at that moment (stopped alone for it with
  // --nonblocking).
  process.thread_names().update(stacks);
  std::unique_ptr<NativeSampler> native;
  if (options.native) native = std::make_unique<NativeSampler>(process, options.native_all);
  ThreadStack native_thread;
  std::vector<MergedFrame> merged;
  out += process_header(pid, process);
  std::unique_ptr<ObjectRepr> reprs;
  if (options.locals) reprs = std::make_unique<ObjectRepr>(process.memory(), process.runtime());
  auto write_frames = [&](const std::vector<FrameRef>& frames) {
    for (const FrameRef& f : frames) {
      out += "    ";
      append_frame_text(out, f.code->name, f.code->filename, options.nolineno ? 0 : f.line);
      out += '\n';
      append_locals(out, reprs.get(), f.address);
    }
  };
  for (std::size_t i = 0; i < stacks.size(); ++i) {
    const ThreadStack& t = stacks[i];
    auto known = states.find(t.tid);
    const char state = known != states.end() ? known->second : t.tid ? stat.state(t.tid) : '?';
    append_thread_header(out, pid, process, t, state);
    if (tasks && thread_tasks[i].asyncio) {
      // Each task that awaits no other task: its chain, innermost first, then the tasks awaiting it.
      const ThreadTasks& async = thread_tasks[i];
      out += " asyncio, " + std::to_string(async.stacks.size()) + " tasks awaiting no other task" +
             (async.task_running ? ", one running" : "") + "\n";
      for (const std::vector<FrameRef>& stack : async.stacks) {
        out += "  Task\n";
        write_frames(stack);
      }
      if (!async.task_running) {
        out += "  Event loop\n";
        write_frames(t.frames);
      }
      continue;
    }
    out += "\n";
    const char* native_problem = nullptr;
    if (native) {
      native_thread = t;
      native_problem = native->sample(native_thread, stopped, merged);
    }
    if (native && !native_problem) {
      append_merged_frames(out, merged, options.nolineno, reprs.get());
      continue;
    }
    write_frames(t.frames);
    if (native_problem) out += std::string("    (") + native_problem + ")\n";
  }
  pauser.resume();
  return 0;
}

}  // namespace

int dump_stacks(const DumpOptions& options) {
  std::unique_ptr<PythonProcess> process;
  std::vector<PythonDescendant> descendants;
  try {
    process = PythonProcess::attach(options.pid);
  } catch (const AttachError& e) {
    if (e.kind() != AttachError::Kind::not_python) throw;
    descendants = python_descendants(options.pid);
    if (descendants.empty()) throw;
    if (!options.subprocesses) {
      std::fprintf(stderr, "pyfold-dump: %s\n",
                   PythonDescendantsOnly(options.pid, descendants, ", or add --subprocesses to dump them all").what());
      return kExitPythonDescendants;
    }
  }
  if (process && options.subprocesses) descendants = python_descendants(options.pid);
  std::string out;
  int code = 0;
  if (process) code = dump_process(options.pid, *process, options, out);
  for (const PythonDescendant& d : descendants) {
    // Each read alone; one that has gone meanwhile is said and skipped.
    std::unique_ptr<PythonProcess> child;
    try {
      child = PythonProcess::attach(d.pid);
    } catch (const AttachError& e) {
      std::fprintf(stderr, "pyfold-dump: PID %d: %s\n", d.pid, e.what());
      continue;
    }
    if (!out.empty()) out += "\n";
    code = std::max(code, dump_process(d.pid, *child, options, out));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return code;
}

}  // namespace pyfold::record
