#pragma once
// The sampling core both recording methods use (the remote recorder, the in-process native sampler): the settings,
// checked once; the clock and the jittered deadline timer; the start-up filter, the mode filter and the thread
// roots that turn a read into counted stacks; and the sink those stacks go to. Each method keeps only how it reads.
#include <sys/types.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "pyfold/record/cpython/stack_walker.hpp"

namespace pyfold::record {

// wall: every thread at every sample; cpu: a thread that holds the GIL or is running; gil: the GIL's holder only.
enum class SampleMode { wall, cpu, gil };

// The highest --rate: samples per second.
constexpr double kMaxRate = 100000;
// Throws std::invalid_argument("--rate must be above 0 and at most 100000") for any other rate.
void check_rate(double rate);

// What the sampler of either method is told: the part of pyfold record's options it samples by.
struct SamplingSettings {
  double rate = 1000;
  SampleMode mode = SampleMode::wall;
  bool threads = false;  // a root frame per thread: `thread (TID): NAME`
  enum class Lines { line, function, none } lines = Lines::line;
  bool keep_startup = false;  // keep what runs before the target's first line
};

// The settings as the in-process bootstrap hands them to the native sampler:
// `rate=1000;mode=cpu;threads=1;lines=line;startup=0`. Written and read here only; the rate is the checked one.
std::string sampling_settings_text(const SamplingSettings& settings);
// Reads that text (other keys ignored, missing ones default). Throws std::invalid_argument.
SamplingSettings parse_sampling_settings(const std::string& text);

double monotonic_seconds();          // CLOCK_MONOTONIC
void sleep_until(double deadline);   // on the monotonic clock; a signal wakes it early

// Absolute deadlines a random 0.5-1.5 intervals apart (mean one interval: no aliasing with periodic work). A tick
// missed by more than an interval is skipped, not made up in a burst: a burst would sample one moment of the
// program many times (it did not run while the sampler was late either), which skews the proportions.
class DeadlineTimer {
 public:
  DeadlineTimer(double rate, double start);
  double deadline() const { return deadline_; }
  // The sampler woke at now for the deadline: counts its lateness, skips what was missed.
  void woke(double now);
  // The next deadline.
  void advance() { deadline_ += interval_ * jitter_(random_); }
  std::uint64_t late() const { return late_; }  // ticks more than one interval late
  double lateness_sum() const { return lateness_sum_; }
  double lateness_max() const { return lateness_max_; }

 private:
  double interval_, deadline_;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> jitter_{0.5, 1.5};
  std::uint64_t late_ = 0;
  double lateness_sum_ = 0, lateness_max_ = 0;
};

// Where the program's own code starts. launched: the program was started directly (a `<module>` at the root that
// is not one of the interpreter's frozen modules, or one runpy's _run_code calls: -m, run_path). bootstrap: it runs
// under pyfold's in-process bootstrap, whose own <module> is at the root: only runpy's _run_code counts.
enum class StartupRule { launched, bootstrap };

// Leaves out the interpreter's start-up (getpath, encodings, site and its .pth files, runpy finding the module):
// the samples before any thread's stack reaches the program's first line.
class StartupFilter {
 public:
  // started: there is no start-up to leave out (a process attached with --pid).
  StartupFilter(StartupRule rule, bool keep_startup, bool started)
      : rule_(rule), keep_(keep_startup), started_(started) {}
  // False for a sample of the start-up that is left out.
  bool keep(const std::vector<ThreadStack>& stacks);
  bool started() const { return started_; }
  bool keeping() const { return started_ || keep_; }  // samples are kept from now

 private:
  StartupRule rule_;
  bool keep_, started_;
};

// runpy's file: `<frozen runpy>` or a path ending in /runpy.py.
bool is_runpy(const std::string& file);

// True when the stack (innermost first) has reached the program's first line, by the rule.
bool past_startup(const std::vector<FrameRef>& frames, StartupRule rule);

// Whether a thread's stack counts in the mode: it has frames, and (cpu) holds the GIL or runs, (gil) holds the GIL.
// state() gives the thread's /proc state letter, asked only when needed.
template <class State>
bool counted_in_mode(SampleMode mode, const ThreadStack& thread, State state) {
  if (thread.frames.empty()) return false;
  if (mode == SampleMode::wall || thread.holds_gil) return true;
  return mode == SampleMode::cpu && state() == 'R';
}

// The label of a thread's root frame, `thread (TID)`; `thread (0xIDENT)` when its TID is unknown but its ident is
// known (a thread read as it ended, on 3.8-3.10).
std::string thread_label(pid_t tid, std::uint64_t thread_id);

// A thread's root frame: `LABEL: NAME`, or the label alone when no name is known.
std::string thread_root_text(std::string label, std::string_view name);

// What a sampler reports on its way: samples taken, of them not recorded, seconds since it started; of the samples,
// those left out as the interpreter's start-up, and when the first was kept (seconds since it started, -1 before):
// pyfold top counts the program's own samples and time from there.
struct RecordProgress {
  std::uint64_t samples = 0, not_recorded = 0;
  double seconds = 0;
  std::uint64_t startup = 0;
  double first_kept = -1;
};

// The text of a frame id as the profile would write it now (a thread's root with the thread's latest name).
class FrameTexts {
 public:
  virtual ~FrameTexts() = default;
  virtual std::string frame_text(std::uint32_t id) const = 0;
};

// Where counted stacks go: the folded profile (ProfileWriter), a live view (pyfold top). A stack is frame ids (of
// the sink's frame table), root first. Every call comes from the sampler's thread.
class StackSink {
 public:
  virtual ~StackSink() = default;
  virtual void add(const std::vector<std::uint32_t>& stack, std::uint64_t count) = 0;
  // The figures so far, every figures_interval() seconds while recording.
  virtual void figures(const RecordProgress& progress) { (void)progress; }
  virtual double figures_interval() const { return 0.5; }
  // Where the ids' texts are, before the first add (valid while recording).
  virtual void texts(const FrameTexts& texts) { (void)texts; }
  // A process is sampled from now: its PID and Python version ("" when the method does not read it).
  virtual void process(pid_t pid, const std::string& python_version) { (void)pid, (void)python_version; }
};

}  // namespace pyfold::record
