// pyfold record's remote method: launch or attach, sample on absolute deadlines with jitter, count folded stacks,
// report.
#include "pyfold/record/remote_recorder.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "pyfold/frame_text.hpp"
#include "pyfold/io.hpp"
#include "pyfold/record/cpython/asyncio_tasks.hpp"
#include "pyfold/record/native/native_sampler.hpp"
#include "pyfold/record/cpython/off_cpu.hpp"
#include "pyfold/record/os/process_tree.hpp"
#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/os/thread_pauser.hpp"
#include "pyfold/record/run_control.hpp"
#include "pyfold/record/sampling.hpp"

namespace pyfold::record {

namespace {

// Why --async cannot read this process from outside.
std::string async_unsupported(const std::string& version, pid_t pid) {
  return "--async reads asyncio tasks from outside CPython 3.14 and 3.15 only (their _asyncio module publishes "
         "where tasks are); PID " + std::to_string(pid) + " runs CPython " + version +
         ": launch the program with `pyfold record --async --method inprocess script.py` instead (3.8 to 3.13)";
}

// One sampled process: its reader, its stat files, its root frame.
struct Target {
  pid_t pid = 0;
  std::unique_ptr<PythonProcess> python;
  std::unique_ptr<ThreadStatReader> stat;
  std::unique_ptr<AsyncioTasks> tasks;     // --async
  std::unique_ptr<NativeSampler> native;  // --native
  std::unique_ptr<OffCpuReads> off_cpu;   // the default method: reads while the GIL's thread is off its CPU
  pid_t gil_tid = 0;                      // the thread that held the GIL at the last sample
  std::uint32_t root_frame = 0;
  int failures_in_a_row = 0;
};

class Recorder {
 public:
  Recorder(const RecordOptions& options, ProfileWriter& writer, RecordReport& report, LaunchedProgram* program)
      : options_(options), writer_(writer), sink_(writer), counter_(writer.counter()), report_(report),
        program_(program), startup_(StartupRule::launched, options.include_startup, program == nullptr) {}

  void add_target(std::unique_ptr<PythonProcess> python) {
    Target t;
    t.pid = python->pid();
    python->stop_thread_as_last_resort(!options_.blocking);
    t.python = std::move(python);
    if (options_.native) t.native = std::make_unique<NativeSampler>(*t.python, options_.native_all);
    t.stat = std::make_unique<ThreadStatReader>(t.pid);
    if (!options_.blocking && !options_.nonblocking && !options_.native)
      t.off_cpu = std::make_unique<OffCpuReads>(t.pid);
    if (options_.async != AsyncSampling::off) {
      if (!AsyncioTasks::supported(t.python->runtime()))
        throw AttachError(AttachError::Kind::unsupported, async_unsupported(t.python->version(), t.pid));
      t.tasks = std::make_unique<AsyncioTasks>(t.python->memory(), t.python->runtime(), t.python->walker(), t.pid);
    }
    std::string root = "process " + std::to_string(t.pid) + ":\"" + command_line_of(t.pid) + "\"";
    std::string sanitized;
    append_sanitized(sanitized, root);
    t.root_frame = counter_.intern(sanitized);
    writer_.process(t.pid, t.python->version());
    watched_.insert(t.pid);
    targets_.push_back(std::move(t));
  }

  // Attaches a process if it is (already) Python; true when it was added, or (quiet_errors) when it is given up:
  // one that refuses to be read for longer than an exec takes is said in the summary, with why.
  bool add_target(pid_t pid, bool quiet_errors) {
    try {
      add_target(PythonProcess::attach(pid));
      return true;
    } catch (const AttachError& e) {
      if (!quiet_errors) throw;
      if (e.kind() != AttachError::Kind::permission) return false;
      const double now = monotonic_seconds();
      const double since = refusing_since_.emplace(pid, now).first->second;
      if (now - since < kTransientRefusalSeconds) return false;
      report_.notes.push_back("PID " + std::to_string(pid) + " (" + command_line_of(pid) +
                              ") not recorded: " + e.what());
      return true;
    }
  }

  // Samples every target once; a target that has gone is dropped.
  void sample_all() {
    for (std::size_t i = 0; i < targets_.size();) {
      if (sample(targets_[i])) {
        ++i;
      } else {
        retired(*targets_[i].python);
        targets_.erase(targets_.begin() + static_cast<long>(i));
      }
    }
  }

  // Adds Python processes among the descendants of the watched processes.
  void scan_children() {
    std::vector<pid_t> fresh;
    for (pid_t pid : std::vector<pid_t>(watched_.begin(), watched_.end())) {
      if (kill(pid, 0) != 0 && errno == ESRCH) {
        watched_.erase(pid);
        continue;
      }
      for (pid_t child : children_of(pid))
        if (!watched_.count(child)) fresh.push_back(child);
    }
    if (program_)  // orphans of the launched tree re-parented to pyfold, daemons that left it
      for (pid_t pid : program_->tree())
        if (!watched_.count(pid)) fresh.push_back(pid);
    for (pid_t child : fresh) {
      watched_.insert(child);  // watched even when not Python (yet): a wrapper's children are found next time
      pending_.insert(child);
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (kill(*it, 0) != 0 || add_target(*it, true)) {
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void watch(pid_t pid) { watched_.insert(pid); }
  // --pid of a process that is not Python, with --subprocesses: recording goes on while it runs, for the Python
  // descendants it may start.
  void watch_wrapper(pid_t pid) {
    wrapper_ = pid;
    watch(pid);
  }
  bool wrapper_running() const {
    ProcessIds ids;
    return wrapper_ && process_ids(wrapper_, ids) && ids.state != 'Z';
  }
  bool has_targets() const { return !targets_.empty(); }
  bool past_startup() const { return startup_.started(); }
  double first_kept() const { return first_kept_; }  // when the first sample past the start-up was kept, or -1
  std::uint64_t reads() const {
    std::uint64_t n = finished_reads_;
    for (const auto& t : targets_) n += t.python->reads();
    return n;
  }
  std::uint64_t retries() const {
    std::uint64_t n = finished_retries_;
    for (const auto& t : targets_) n += t.python->retries();
    return n;
  }
  std::uint64_t retries_with_thread_stopped() const {
    std::uint64_t n = finished_retries_with_thread_stopped_;
    for (const auto& t : targets_) n += t.python->retries_with_thread_stopped();
    return n;
  }

 private:
  void retired(const PythonProcess& python) {
    finished_reads_ += python.reads();
    finished_retries_ += python.retries();
    finished_retries_with_thread_stopped_ += python.retries_with_thread_stopped();
  }

  // Stops every thread of the target (--blocking, or a read that could not be made off the CPU); the states
  // --mode cpu needs are read first (a stopped thread reads 't').
  std::unique_ptr<ThreadPauser> stop_program(Target& t, std::map<pid_t, char>& states) {
    if (options_.mode == SampleMode::cpu)
      for (pid_t tid : task_ids(t.pid)) states[tid] = t.stat->state(tid);
    auto pauser = std::make_unique<ThreadPauser>(t.pid);
    pauser->pause();  // (a launched program that ended meanwhile: its status reaches it, see take_reaped_status)
    return pauser;
  }

  // The stacks, and --async's tasks read just after them (both read again when they do not agree).
  PythonProcess::Read read_target(Target& t, const char*& tasks_problem) {
    PythonProcess::Read result = t.python->read_stacks(stacks_);
    tasks_problem = nullptr;
    if (t.tasks && result == PythonProcess::Read::ok) {
      t.tasks->find_offsets();
      AsyncMode mode = options_.async == AsyncSampling::all ? AsyncMode::all : AsyncMode::running;
      for (int attempt = 0; attempt < StackWalker::kReadsPerThread; ++attempt) {
        if (attempt && (result = t.python->read_stacks(stacks_)) != PythonProcess::Read::ok) break;
        if (!(tasks_problem = t.tasks->read(stacks_, mode, tasks_))) break;
      }
    }
    return result;
  }

  pid_t gil_thread(Target& t) const { return gil_holder(t.python->walker(), stacks_); }

  bool sample(Target& t) {
    std::map<pid_t, char> states;
    std::unique_ptr<ThreadPauser> pauser;
    if (options_.blocking) pauser = stop_program(t, states);
    const char* tasks_problem = nullptr;
    PythonProcess::Read result;
    bool one_instant = false;
    for (int attempt = 0;; ++attempt) {
      if (t.off_cpu) t.off_cpu->before(t.gil_tid);
      result = read_target(t, tasks_problem);
      if (!t.off_cpu || result == PythonProcess::Read::gone) break;
      const pid_t holder = result == PythonProcess::Read::ok ? gil_thread(t) : 0;
      one_instant = result == PythonProcess::Read::ok && read_was_one_instant(*t.off_cpu, t.python->walker(), holder);
      if (one_instant) t.gil_tid = holder;
      // The GIL changed hands since the last sample: once more, watching the new holder.
      if (one_instant || attempt > 0 || holder == 0 || holder == t.gil_tid) break;
      t.gil_tid = holder;
    }
    if (options_.check_reads && one_instant && !check_read(t)) {
      ++report_.samples;
      ++report_.not_recorded["--check-reads: the read with the program stopped was not consistent"];
      return true;
    }
    if (t.off_cpu && result != PythonProcess::Read::gone && !one_instant) {
      // Otherwise read again with the program stopped, and move to that thread's CPU for the samples that follow.
      pauser = stop_program(t, states);
      ++report_.samples_read_program_stopped;
      result = read_target(t, tasks_problem);
      pauser->resume();
      if (result == PythonProcess::Read::ok) {
        t.gil_tid = gil_thread(t);
        // With several processes (--subprocesses) the sampler stays where it is: following one would leave the
        // others.
        if (t.gil_tid != 0 && targets_.size() == 1) t.off_cpu->follow(t.gil_tid);
      }
    }
    // Names as close to the read as can be (under --blocking, with the program still stopped): a thread that ends
    // meanwhile cannot be named any more, and its ident may already be a new thread's.
    if (options_.threads && result == PythonProcess::Read::ok) t.python->thread_names().update(stacks_);
    if (pauser) pauser->resume();
    if (result == PythonProcess::Read::gone) return false;
    ++report_.samples;
    if (result == PythonProcess::Read::torn) {
      ++report_.not_recorded[t.python->last_torn_reason()];
      if (++t.failures_in_a_row >= 20) {  // the process may have exec'd: find its runtime again
        t.failures_in_a_row = 0;
        try {
          auto again = PythonProcess::attach(t.pid);
          retired(*t.python);
          t.python = std::move(again);
          t.python->stop_thread_as_last_resort(!options_.blocking);
          if (options_.native) t.native = std::make_unique<NativeSampler>(*t.python, options_.native_all);
        } catch (const AttachError& e) {
          // A process that stopped letting itself be read (it made itself non-dumpable, changed its user) is said.
          if (e.kind() == AttachError::Kind::permission)
            report_.notes.push_back("PID " + std::to_string(t.pid) + " (" + command_line_of(t.pid) +
                                    ") not recorded from then on: " + e.what());
          return false;
        }
      }
      return true;
    }
    t.failures_in_a_row = 0;
    if (tasks_problem) {
      ++report_.not_recorded[std::string("asyncio tasks: ") + tasks_problem];
      return true;
    }
    if (!startup_.keep(stacks_)) {
      ++report_.startup;
      return true;
    }
    if (first_kept_ < 0) first_kept_ = monotonic_seconds();
    ++report_.recorded;
    for (std::size_t i = 0; i < stacks_.size(); ++i) {
      const ThreadStack& thread = stacks_[i];
      if (!counted_in_mode(options_.mode, thread, [&] { return thread_state(t, thread, states); })) continue;
      if (t.tasks && tasks_[i].asyncio) {
        const ThreadTasks& tasks = tasks_[i];
        for (const std::vector<FrameRef>& stack : tasks.stacks) add_stack(t, thread, stack);
        // No task runs: the loop's own stack (its callbacks, its selector), except in --async-mode all when the
        // thread sleeps in the selector: that wait is the waiting tasks', counted under them.
        if (tasks.task_running) continue;
        if (options_.async == AsyncSampling::all && !tasks.stacks.empty() && !on_cpu(t, thread, states)) continue;
      }
      if (t.native) {  // the thread stopped, unwound and read again
        native_thread_ = thread;
        if (const char* problem = t.native->sample(native_thread_, options_.blocking, merged_)) {
          ++report_.not_recorded[problem];
          continue;
        }
        if (native_thread_.frames.empty()) continue;  // no Python frame at that moment, as above
        // --mode cpu: the state was read before the stop; a thread stopped waiting in a system call was not running
        // at the moment its stack was taken (one starting up and going to sleep); so was one that the GIL's words,
        // read live a moment before, said held the GIL (caught as it released it to sleep)
        if (options_.mode == SampleMode::cpu && t.native->in_syscall()) continue;
        key_.clear();
        if (options_.subprocesses) key_.push_back(t.root_frame);
        if (options_.threads) key_.push_back(thread_frame(t, thread));
        for (const MergedFrame& f : merged_) key_.push_back(f.python ? frame_id(*f.python) : native_frame_id(*f.native));
        sink_.add(key_, 1);
        continue;
      }
      add_stack(t, thread, thread.frames);
    }
    return true;
  }

  // --check-reads: if the GIL's thread has still not run since before() (or, the GIL being free, nobody took it),
  // the program is stopped and read again. A thread off its CPU runs no instruction of its own before it stops (it
  // takes the stop on its way back to user mode), so this is the same instant as the read just made, and every
  // thread's stack must be the same, frame for frame and line for line. The stopped read is the one recorded (a
  // new read may drop the code objects the first one's frames point to; so when it fails, the sample is not
  // recorded: false).
  bool check_read(Target& t) {
    auto key = [](const std::vector<ThreadStack>& stacks) {
      std::string k;
      for (const ThreadStack& s : stacks) {
        k += "thread " + std::to_string(s.tstate) + (s.holds_gil ? " gil\n" : "\n");
        for (const FrameRef& f : s.frames)
          k += std::to_string(f.address) + ' ' + f.code->name + ' ' + f.code->filename + ':' +
               std::to_string(f.line) + '\n';
      }
      return k;
    };
    const std::string off_cpu = key(stacks_);
    StackWalker& walker = t.python->walker();
    const bool still = t.gil_tid ? t.off_cpu->held_still(t.gil_tid) : walker.gil_unchanged();
    std::map<pid_t, char> unused;
    auto pauser = stop_program(t, unused);
    RecordReport::CheckedReads& c = report_.checked_reads;
    if (t.python->read_stacks(check_stacks_) != PythonProcess::Read::ok) {
      ++c.not_compared;
      return false;
    }
    std::swap(stacks_, check_stacks_);
    if (!still) {
      ++c.not_compared;
    } else if (key(stacks_) == off_cpu) {
      ++c.same;
    } else {
      if (++c.differed == 1)
        c.first_difference = "read off the CPU:\n" + off_cpu + "with the program stopped:\n" + key(stacks_);
    }
    return true;
  }

  bool on_cpu(Target& t, const ThreadStack& thread, const std::map<pid_t, char>& states) {
    if (thread.holds_gil) return true;
    auto it = states.find(thread.tid);
    char state = it != states.end() ? it->second : thread.tid ? t.stat->state(thread.tid) : '?';
    return state == 'R';
  }

  // --mode cpu: a thread's state, read before the stop under --blocking (a stopped thread reads 't').
  char thread_state(Target& t, const ThreadStack& thread, const std::map<pid_t, char>& states) {
    if (options_.blocking) {
      auto it = states.find(thread.tid);
      return it != states.end() ? it->second : '?';
    }
    return thread.tid ? t.stat->state(thread.tid) : '?';
  }

  // A stack (innermost first) under the process and thread roots asked for.
  void add_stack(Target& t, const ThreadStack& thread, const std::vector<FrameRef>& frames) {
    key_.clear();
    if (options_.subprocesses) key_.push_back(t.root_frame);
    if (options_.threads) key_.push_back(thread_frame(t, thread));
    for (auto f = frames.rbegin(); f != frames.rend(); ++f) key_.push_back(frame_id(*f));
    sink_.add(key_, 1);
  }

  std::uint32_t frame_id(const FrameRef& f) {
    int line = options_.nolineno ? 0 : options_.function ? f.code->first_line : f.line;
    auto it = f.code->frame_ids.find(line);
    if (it != f.code->frame_ids.end()) return it->second;
    text_.clear();
    append_frame_text(text_, f.code->name, f.code->filename, line);
    std::uint32_t id = counter_.intern(text_);
    f.code->frame_ids.emplace(line, id);
    return id;
  }

  std::uint32_t native_frame_id(const NativeSymbol& s) {
    if (s.frame_id != UINT32_MAX) return s.frame_id;
    text_.clear();
    append_frame_text(text_, s.name, s.module, 0);
    s.frame_id = counter_.intern(text_);
    return s.frame_id;
  }

  // `thread (TID): NAME`: one root a thread, named when written with threading's last name for it (the OS name
  // only when Python never named it).
  std::uint32_t thread_frame(Target& t, const ThreadStack& thread) {
    std::uint64_t key = thread.tid ? static_cast<std::uint64_t>(thread.tid) : thread.thread_id;
    std::uint32_t root = writer_.thread_root(t.pid, key, thread_label(thread.tid, thread.thread_id));
    const std::string& name = t.python->thread_names().name(thread);
    if (!name.empty()) {
      writer_.name_thread(root, name, true);
    } else if (!writer_.named_by_python(root) && !os_named_.count(root) && thread.tid) {
      writer_.name_thread(root, thread_name(t.pid, thread.tid), false);
      os_named_.insert(root);
    }
    return root;
  }

  const RecordOptions& options_;
  ProfileWriter& writer_;
  StackSink& sink_;
  StackCounter& counter_;
  RecordReport& report_;
  LaunchedProgram* program_;
  StartupFilter startup_;
  double first_kept_ = -1;
  std::vector<Target> targets_;
  std::set<pid_t> watched_, pending_;
  pid_t wrapper_ = 0;
  std::set<std::uint32_t> os_named_;
  std::map<pid_t, double> refusing_since_;  // --subprocesses: children whose reads are refused, since when
  std::vector<ThreadStack> stacks_, check_stacks_;
  std::vector<ThreadTasks> tasks_;
  ThreadStack native_thread_;          // --native: the thread's stack read while it was stopped
  std::vector<MergedFrame> merged_;    // --native: its Python and native frames, root first
  std::vector<std::uint32_t> key_;
  std::string text_;
  std::uint64_t finished_reads_ = 0, finished_retries_ = 0, finished_retries_with_thread_stopped_ = 0;
};

// The first target: the launched program once it is Python, or the process given by --pid. False when there is
// nothing to record (report.program says why).
bool attach_first(Recorder& recorder, LaunchedProgram* program, const RecordTarget& target,
                  const RecordOptions& options, RecordReport& report) {
  if (!program) {
    try {
      recorder.add_target(target.pid, false);
    } catch (const AttachError& e) {
      if (e.kind() != AttachError::Kind::not_python) throw;
      if (!options.subprocesses) {
        std::vector<PythonDescendant> found = python_descendants(target.pid);
        if (found.empty()) throw;
        throw PythonDescendantsOnly(target.pid, found,
                                    ", or add --subprocesses to record them all (also those it starts later)");
      }
      // A wrapper (a shell, a shim, a supervisor): its Python descendants are read, those there now and those it
      // starts, while it runs.
      recorder.watch_wrapper(target.pid);
      recorder.scan_children();
      report.notes.push_back("PID " + std::to_string(target.pid) +
                             " is not Python: its Python descendants were recorded (--subprocesses)");
    }
    return true;
  }
  recorder.watch(program->pid());
  auto python = wait_for_python(*program);  // AttachError: the program is killed on the way out
  if (python) {
    recorder.add_target(std::move(python));
  } else if (program->exited()) {
    report.exit_code = program->exit_code();
    if (!target.python_program) {
      report.program = RecordReport::Program::never_python;
      return false;
    }
    if (report.exit_code != 0) {
      report.program = RecordReport::Program::ended_before_first_line;
      return false;
    }
    report.notes.push_back(report.command + " ended before it could be sampled");  // an empty profile
  }
  return true;
}

RecordProgress progress_figures(const Recorder& recorder, const RecordReport& report, double start, double now) {
  std::uint64_t not_recorded = 0;
  for (const auto& [reason, n] : report.not_recorded) not_recorded += n;
  const double kept = recorder.first_kept();
  return {report.samples, not_recorded, now - start, report.startup, kept < 0 ? -1 : std::max(0.0, kept - start)};
}

// Samples every target on the timer's deadlines until the program ends, a signal, or --duration; true when
// --duration ended it.
bool sample_until_done(Recorder& recorder, ProfileWriter& writer, LaunchedProgram* program,
                       const RecordOptions& options, RecordReport& report, const ProgressCallback& progress,
                       double start) {
  DeadlineTimer timer(options.rate, start);
  const double end = options.duration > 0 ? start + options.duration : INFINITY;
  double next_scan = start, next_progress = start + writer.figures_interval(), next_poll = start;
  bool duration_ended = false;
  while (!g_signal && (recorder.has_targets() || recorder.wrapper_running()) && !(program && program->exited())) {
    sleep_until(timer.deadline());
    if (g_signal) break;
    double now = monotonic_seconds();
    if (now >= end) {
      duration_ended = true;
      break;
    }
    timer.woke(now);
    writer.rotate_if_due(now);
    recorder.sample_all();
    report.sampling_seconds += monotonic_seconds() - now;
    // (a wait4 a sample would be one more system call on the program's CPU: one whose process has gone reads so
    // at once, and the loop ends by the next poll)
    if (program && now >= next_poll) {
      program->poll();
      next_poll = now + 0.01;
    }
    if (options.subprocesses && now >= next_scan) {
      recorder.scan_children();
      next_scan = now + 0.02;
    }
    if (now >= next_progress) {
      const RecordProgress figures = progress_figures(recorder, report, start, now);
      writer.figures(figures);
      if (progress) progress(figures);
      next_progress = now + writer.figures_interval();
    }
    timer.advance();
  }
  writer.figures(progress_figures(recorder, report, start, monotonic_seconds()));  // the last: every sample counted
  report.late = timer.late();
  report.lateness_max = timer.lateness_max();
  report.lateness_mean = report.samples ? timer.lateness_sum() / static_cast<double>(report.samples) : 0;
  return duration_ended;
}

// After the loop: the program told to stop (or let end by itself), then the profile written unless the program
// never got to its first line, then the program waited for.
void finish(Recorder& recorder, ProfileWriter& writer, LaunchedProgram* program, bool duration_ended,
            double stopped, RecordReport& report) {
  report.reads = recorder.reads();
  report.retries = recorder.retries();
  report.retries_with_thread_stopped = recorder.retries_with_thread_stopped();
  // Write everything first, then deal with the program: a program told to stop may take its time.
  const bool stop_requested = duration_ended || g_signal;
  const StopCause cause = duration_ended           ? StopCause::duration
                          : g_signal == SIGTERM    ? StopCause::sigterm
                          : g_signal               ? StopCause::sigint
                                                   : StopCause::exited;
  if (program && stop_requested && !program->exited()) {
    program->request_stop(cause);  // the program (and its tree) starts ending while the profile is written
    if (duration_ended) report.program = RecordReport::Program::stopped;
  } else if (program) {
    // It is ending by itself (its process has gone, or exec'd something that is not Python): how it ended decides
    // what is written.
    for (int i = 0; i < 200 && !program->poll(); ++i) usleep(1000);
  }
  const bool never_started = program && !recorder.past_startup();
  if (never_started && !stop_requested && program->exited() && program->exit_code() != 0) {
    report.program = RecordReport::Program::ended_before_first_line;  // nothing of the program to show
  } else {
    writer.finish(stopped, signalled_from_now());
    report.files = writer.files();
    report.notes.insert(report.notes.end(), writer.handoff_notes().begin(), writer.handoff_notes().end());
    report.stack_count = writer.total();
    report.top_self = writer.top_self(5);
  }
  if (program) {
    program->end(cause);  // and whatever it left running
    report.exit_code = program->exit_code();
  }
}

}  // namespace

RecordReport record_remote(const RecordOptions& options, const RecordTarget& target,
                           const ProgressCallback& progress, const LiveView* live) {
  RecordReport report;
  ProfileWriter writer(options.output, options.timeline, options.rotate);
  writer.show_live(live ? live->sink : nullptr);
  writer.check_output();  // fail before launching anything
  SignalGuard guard;
  std::unique_ptr<LaunchedProgram> program;
  if (!target.command.empty()) {
    LaunchSetup setup;
    setup.stdout_to_stderr = options.output.empty() || options.output == "-";  // stdout carries the stacks
    if (live) setup.output_to(live->program_output_fd);
    program = std::make_unique<LaunchedProgram>(target.command, setup);
    report.program = RecordReport::Program::exited;
    report.command = program_name(target);
  }
  Recorder recorder(options, writer, report, program.get());
  if (!attach_first(recorder, program.get(), target, options, report)) return report;
  const double start = monotonic_seconds();
  writer.set_output(profile_output(options, program ? program->pid() : target.pid));  // --format, --on-rotate
  writer.start(start);
  const bool duration_ended = sample_until_done(recorder, writer, program.get(), options, report, progress, start);
  const double stopped = monotonic_seconds();
  report.elapsed = stopped - start;
  finish(recorder, writer, program.get(), duration_ended, stopped, report);
  return report;
}

}  // namespace pyfold::record
