// pyfold record: launch or attach, sample on absolute deadlines with jitter, write folded stacks.
#include "pyfold/record/recorder.hpp"

#include <signal.h>
#include <sys/wait.h>
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
#include "pyfold/record/process_tree.hpp"
#include "pyfold/record/python_process.hpp"
#include "pyfold/record/stack_counter.hpp"
#include "pyfold/record/thread_pauser.hpp"
#include "run_control.hpp"
#include "pyfold/record/inprocess.hpp"

namespace pyfold::record {

namespace {

void sleep_until(double deadline) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(deadline);
  ts.tv_nsec = static_cast<long>((deadline - static_cast<double>(ts.tv_sec)) * 1e9);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);  // EINTR: a signal, checked by the caller
}

// One sampled process: its reader, its stat files, its root frame.
struct Target {
  pid_t pid = 0;
  std::unique_ptr<PythonProcess> python;
  std::unique_ptr<ThreadStatReader> stat;
  std::uint32_t root_frame = 0;
  int failures_in_a_row = 0;
};

struct Stats {
  std::uint64_t samples = 0, dropped = 0, late = 0;
  double lateness_sum = 0, lateness_max = 0;
  double sampling_seconds = 0;  // time spent reading the targets
  std::map<std::string, std::uint64_t> drop_reasons;
};

class Recorder {
 public:
  Recorder(const RecordOptions& options) : options_(options), counter_(options.timeline) {}

  // Attaches a process if it is (already) Python; true when it was added.
  bool add_target(pid_t pid, bool quiet_errors) {
    std::unique_ptr<PythonProcess> python;
    try {
      python = PythonProcess::attach(pid);
    } catch (const AttachError&) {
      if (quiet_errors) return false;
      throw;
    }
    Target t;
    t.pid = pid;
    python->stop_thread_as_last_resort(!options_.blocking);
    t.python = std::move(python);
    t.stat = std::make_unique<ThreadStatReader>(pid);
    std::string root = "process " + std::to_string(pid) + ":\"" + command_line_of(pid) + "\"";
    std::string sanitized;
    append_sanitized(sanitized, root);
    t.root_frame = counter_.intern(sanitized);
    targets_.push_back(std::move(t));
    watched_.insert(pid);
    return true;
  }

  // Samples every target once. Returns false when the first (main) target has gone.
  void sample_all() {
    for (std::size_t i = 0; i < targets_.size();) {
      if (sample(targets_[i])) {
        ++i;
      } else {
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
    for (pid_t child : fresh) {
      watched_.insert(child);  // watched even when not Python (yet): a wrapper's children are found next time
      pending_.insert(child);
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (kill(*it, 0) != 0) {
        it = pending_.erase(it);
      } else if (add_target(*it, true)) {
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void watch(pid_t pid) { watched_.insert(pid); }
  bool has_targets() const { return !targets_.empty(); }
  bool has_target(pid_t pid) const {
    return std::any_of(targets_.begin(), targets_.end(), [&](const Target& t) { return t.pid == pid; });
  }
  Stats& stats() { return stats_; }
  StackCounter& counter() { return counter_; }
  std::uint64_t reads() const {
    std::uint64_t n = 0;
    for (const auto& t : targets_) n += t.python->reads();
    return n + finished_reads_;
  }
  // Set when --blocking's wait reaped the launched child.
  bool child_reaped = false;
  int child_status = 0;
  pid_t launched = 0;

 private:
  bool sample(Target& t) {
    std::map<pid_t, char> states;
    std::unique_ptr<ThreadPauser> pauser;
    if (options_.blocking) {
      if (options_.mode == SampleMode::cpu)  // before the stop: a stopped thread reads 't'
        for (pid_t tid : task_ids(t.pid)) states[tid] = t.stat->state(tid);
      pauser = std::make_unique<ThreadPauser>(t.pid);
      pauser->pause();
      if (pauser->reaped() && t.pid == launched) child_reaped = true, child_status = pauser->reaped_status();
    }
    PythonProcess::Read result = t.python->read_stacks(stacks_);
    if (pauser) pauser->resume();
    if (result == PythonProcess::Read::gone) {
      finished_reads_ += t.python->reads();
      return false;
    }
    if (result == PythonProcess::Read::torn) {
      ++stats_.dropped;
      ++stats_.drop_reasons[t.python->last_torn_reason()];
      if (++t.failures_in_a_row >= 20) {  // the process may have exec'd: find its runtime again
        t.failures_in_a_row = 0;
        try {
          finished_reads_ += t.python->reads();
          t.python = PythonProcess::attach(t.pid);
          t.python->stop_thread_as_last_resort(!options_.blocking);
        } catch (const AttachError&) {
          return false;
        }
      }
      return true;
    }
    t.failures_in_a_row = 0;
    ++stats_.samples;
    for (const ThreadStack& thread : stacks_) {
      if (thread.frames.empty()) continue;
      if (options_.mode == SampleMode::gil && !thread.holds_gil) continue;
      if (options_.mode == SampleMode::cpu && !thread.holds_gil) {
        char state = '?';
        if (options_.blocking) {
          auto it = states.find(thread.tid);
          if (it != states.end()) state = it->second;
        } else if (thread.tid) {
          state = t.stat->state(thread.tid);
        }
        if (state != 'R') continue;
      }
      key_.clear();
      if (options_.subprocesses) key_.push_back(t.root_frame);
      if (options_.threads) key_.push_back(thread_frame(t, thread));
      for (auto f = thread.frames.rbegin(); f != thread.frames.rend(); ++f) key_.push_back(frame_id(*f));
      counter_.add(key_);
    }
    return true;
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

  // `thread (TID): NAME`, NAME being threading.Thread's name, or the OS thread name until Python's is known.
  std::uint32_t thread_frame(Target& t, const ThreadStack& thread) {
    std::uint64_t key = thread.tid ? static_cast<std::uint64_t>(thread.tid) : thread.thread_id;
    auto it = thread_frames_.find({t.pid, key});
    if (it != thread_frames_.end() && it->second.second) return it->second.first;
    std::string name = t.python->python_thread_name(thread.thread_id);
    bool from_python = !name.empty();
    if (!from_python && it != thread_frames_.end()) return it->second.first;  // keep the OS name meanwhile
    if (!from_python && thread.tid) name = thread_name(t.pid, thread.tid);
    char id[48];
    if (thread.tid) {
      std::snprintf(id, sizeof id, "thread (%d): ", thread.tid);
    } else {
      std::snprintf(id, sizeof id, "thread (0x%llx): ", static_cast<unsigned long long>(thread.thread_id));
    }
    text_ = id;
    append_sanitized(text_, name);
    std::uint32_t frame = counter_.intern(text_);
    thread_frames_[{t.pid, key}] = {frame, from_python};
    return frame;
  }

  const RecordOptions& options_;
  StackCounter counter_;
  Stats stats_;
  std::vector<Target> targets_;
  std::set<pid_t> watched_, pending_;
  std::vector<ThreadStack> stacks_;
  std::vector<std::uint32_t> key_;
  std::string text_;
  std::map<std::pair<pid_t, std::uint64_t>, std::pair<std::uint32_t, bool>> thread_frames_;  // frame, Python name
  std::uint64_t finished_reads_ = 0;
};

// Polls the launched child until it or one of its descendants is Python with an initialised runtime.
// Returns that pid, or 0 when the child exited first (status in *status) or recording was interrupted.
pid_t wait_for_python(pid_t child, int* status, bool* exited) {
  std::set<pid_t> tried_exe_failed;
  while (!g_signal) {
    int st = 0;
    if (waitpid(child, &st, WNOHANG) == child) {
      *status = st, *exited = true;
      return 0;
    }
    std::vector<pid_t> family{child};
    for (std::size_t i = 0; i < family.size() && family.size() < 64; ++i)
      for (pid_t c : children_of(family[i])) family.push_back(c);
    for (pid_t pid : family) {
      try {
        auto python = PythonProcess::attach(pid);
        if (python->initialized()) return pid;
      } catch (const AttachError& e) {
        if (e.kind() != AttachError::Kind::not_python && e.kind() != AttachError::Kind::no_process &&
            e.kind() != AttachError::Kind::not_ready)
          throw;
      }
    }
    usleep(1000);
  }
  return 0;
}

}  // namespace

int record(const RecordOptions& options, const RecordTarget& target) {
  if (!(options.rate > 0 && options.rate <= 100000)) throw std::invalid_argument("--rate must be in (0, 100000]");
  if (target.pid && options.method == RecordMethod::inprocess)
    throw std::invalid_argument("--pid attaches from outside: it has no in-process method");
  if (!target.pid && options.method != RecordMethod::remote) {
    bool inprocess = options.method == RecordMethod::inprocess;
    if (!inprocess && !can_read_child_memory()) {
      if (!options.quiet)
        std::fprintf(stderr, "pyfold-record: this machine refuses to read another process's memory (ptrace rules or "
                             "seccomp); sampling from inside the program instead (--method inprocess)\n");
      inprocess = true;
    }
    if (inprocess) return record_inprocess(options, target);
  }
  SignalGuard guard;
  auto out = OutputSink::open(options.output);  // fail before launching anything
  Recorder recorder(options);
  pid_t child = 0;
  int child_status = 0;
  bool child_exited = false;
  if (!target.command.empty()) {
    // The folded stacks on standard output must not mix with the program's own output.
    child = launch(target.command, options.output.empty() || options.output == "-");
    recorder.launched = child;
    recorder.watch(child);
    pid_t python = 0;
    try {
      python = wait_for_python(child, &child_status, &child_exited);
      if (python) recorder.add_target(python, false);
    } catch (const AttachError&) {  // not one we can sample: do not leave it running behind us
      kill(child, SIGTERM);
      waitpid(child, nullptr, 0);
      throw;
    }
    if (!python && child_exited && !options.quiet)
      std::fprintf(stderr, "pyfold-record: %s exited before Python started\n", target.command[0].c_str());
  } else {
    recorder.add_target(target.pid, false);
  }

  const double interval = 1.0 / options.rate;
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.5);  // mean one interval; no aliasing with periodic work
  const double start = now_seconds();
  const double end = options.duration > 0 ? start + options.duration : INFINITY;
  double deadline = start, next_scan = start, next_progress = start + 0.5;
  const bool progress = !options.quiet && isatty(STDERR_FILENO);
  bool duration_ended = false;
  Stats& stats = recorder.stats();
  while (!g_signal && recorder.has_targets() && !child_exited) {
    sleep_until(deadline);
    if (g_signal) break;
    double now = now_seconds();
    if (now >= end) {
      duration_ended = true;
      break;
    }
    double late = now - deadline;
    stats.lateness_sum += late;
    stats.lateness_max = std::max(stats.lateness_max, late);
    if (late > interval) {
      // Missed ticks are skipped, not made up in a burst: a burst would sample one moment of the program many
      // times (it did not run while we were late either), which skews the proportions.
      ++stats.late;
      deadline = now;
    }
    recorder.sample_all();
    stats.sampling_seconds += now_seconds() - now;
    if (child && !child_exited) {
      if (recorder.child_reaped) {
        child_exited = true, child_status = recorder.child_status;
      } else if (waitpid(child, &child_status, WNOHANG) == child) {
        child_exited = true;
      }
    }
    if (options.subprocesses && now >= next_scan) {
      recorder.scan_children();
      next_scan = now + 0.02;
    }
    if (progress && now >= next_progress) {
      std::fprintf(stderr, "\rpyfold-record: %llu samples, %llu dropped, %.1f s ",
                   static_cast<unsigned long long>(stats.samples), static_cast<unsigned long long>(stats.dropped),
                   now - start);
      next_progress = now + 0.5;
    }
    deadline += interval * jitter(random);
  }
  const double elapsed = now_seconds() - start;
  if (progress) std::fputs("\r\033[K", stderr);

  // Write everything first, then deal with the program.
  recorder.counter().write(*out);
  out->commit();
  if (!options.quiet) {
    std::fprintf(stderr,
                 "pyfold-record: %llu samples in %.2f s (%.0f Hz), %llu dropped (torn stacks), %llu stack lines "
                 "counted; %.1f us per sample (%.1f reads); lateness mean %.0f us, max %.1f ms, %llu samples more "
                 "than one interval late\n",
                 static_cast<unsigned long long>(stats.samples), elapsed, elapsed > 0 ? stats.samples / elapsed : 0.0,
                 static_cast<unsigned long long>(stats.dropped),
                 static_cast<unsigned long long>(recorder.counter().total()),
                 stats.samples + stats.dropped ? 1e6 * stats.sampling_seconds / (stats.samples + stats.dropped) : 0.0,
                 stats.samples + stats.dropped ? static_cast<double>(recorder.reads()) / (stats.samples + stats.dropped)
                                               : 0.0,
                 stats.samples ? 1e6 * stats.lateness_sum / static_cast<double>(stats.samples + stats.dropped) : 0.0,
                 1e3 * stats.lateness_max, static_cast<unsigned long long>(stats.late));
    if (stats.dropped) {
      auto most = std::max_element(stats.drop_reasons.begin(), stats.drop_reasons.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
      std::fprintf(stderr, "pyfold-record: dropped samples, most often: %s (%llu)\n", most->first.c_str(),
                   static_cast<unsigned long long>(most->second));
    }
    if (stats.late * 10 > stats.samples + stats.dropped && stats.samples > 100)
      std::fprintf(stderr, "pyfold-record: sampling fell behind; results may be inaccurate (try a lower --rate)\n");
  }
  if (!child) return 0;
  if (!child_exited) {
    // The program is still running: recording ended by a signal or --duration. SIGTERM and --duration end it;
    // after Ctrl-C (which it got from the terminal too) it has a second to finish before it gets SIGINT.
    int forward = duration_ended ? SIGTERM : g_signal == SIGTERM ? SIGTERM : 0;
    if (forward) kill(child, forward);
    for (int i = 0; i < 1000 && !child_exited; ++i) {
      if (waitpid(child, &child_status, WNOHANG) == child) child_exited = true;
      else usleep(1000);
    }
    if (!child_exited) {
      kill(child, forward ? forward : SIGINT);
      while (waitpid(child, &child_status, 0) < 0 && errno == EINTR) {
        if (g_signal) kill(child, g_signal);
      }
    }
    if (duration_ended) return 0;
  }
  return exit_code_of(child_status);
}

}  // namespace pyfold::record
