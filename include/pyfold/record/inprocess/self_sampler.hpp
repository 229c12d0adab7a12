#pragma once
// The in-process method's exact reader: a native thread inside the Python program reads the program's own stacks
// the way the remote method reads another's (process_vm_readv on its own process, which no ptrace policy refuses:
// a process may always read itself), at the moment the timer says, not at the interpreter's next periodic check.
// It streams the bootstrap's folded lines (`frame;...;frame 1`) to a pipe, and its totals at the end.
//
// Loaded into the program as a shared library (libpyfold-agent.so, embedded in pyfold-record), started and stopped
// by the bootstrap through ctypes. Where it cannot start (seccomp refusing process_vm_readv, an unknown layout), the
// bootstrap samples from Python's signal handler instead, and says so.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pyfold/record/cpython/off_cpu.hpp"
#include "pyfold/record/os/proc_files.hpp"
#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/sampling.hpp"

namespace pyfold::record {

class SelfSampler {
 public:
  // Attaches to this process's interpreter (throws AttachError); fd: where the lines go.
  SelfSampler(int fd, const SamplingSettings& settings);
  ~SelfSampler();
  SelfSampler(const SelfSampler&) = delete;
  SelfSampler& operator=(const SelfSampler&) = delete;

  // Starts the sampling thread (every signal blocked in it: the program's signals go to its own threads), after
  // writing `#pyfold-start monotonic=SECONDS`: when it started, on CLOCK_MONOTONIC (the same clock in pyfold).
  void start();
  // Stops it and writes the totals: `#pyfold-not-recorded COUNT REASON` lines, then
  // `#pyfold ticks=N startup=N errors=0 started=0|1 live=N native=1 reads=N retries=N sampling_us=N late=N
  // lateness_sum_us=N lateness_max_us=N`. Only in the process that started it (a forked child
  // that returns through the bootstrap writes nothing).
  void stop();

  // One sample now, on the calling thread (the sampling thread's tick; tests): its stacks' lines, then
  // `#pyfold-progress ticks=N not_recorded=N startup=N [kept_us=N]` (every tick that wrote stacks, at least every
  // 20 ms otherwise; kept_us: when the first sample past the start-up was kept, since the start), so pyfold's live
  // figures count ticks, not stack lines, and move on when no stack is counted.
  void sample();

 private:
  void run();
  bool read_one_instant();
  void take_stacks();  // this tick's lines into out_, or counted as start-up or not recorded
  bool write_all(const std::string& text);
  const std::string& frame_text(const FrameRef& frame);
  std::string thread_root(const ThreadStack& thread);

  int fd_;
  SamplingSettings settings_;
  pid_t pid_;
  std::unique_ptr<PythonProcess> python_;
  OffCpuReads off_cpu_;
  ThreadStatReader stat_;
  std::vector<ThreadStack> stacks_;
  pid_t gil_tid_ = 0;
  std::unordered_map<std::string, std::uint32_t> text_ids_;
  std::vector<std::string> texts_;
  std::string line_, out_;
  std::uint64_t ticks_ = 0, startup_ = 0, live_ = 0, not_recorded_count_ = 0;
  double sampling_seconds_ = 0;
  double start_ = 0, progress_at_ = 0;  // when sampling started; when progress was last written
  double kept_at_ = -1;                 // when the first sample past the start-up was kept (since start_)
  std::unique_ptr<DeadlineTimer> timer_;
  std::map<std::string, std::uint64_t> not_recorded_;
  StartupFilter startup_filter_;
  bool writing_ = true;    // false once the pipe is gone: the program runs on, unsampled
  std::atomic<bool> stop_{false};
  bool running_ = false;
  unsigned long thread_ = 0;  // pthread_t
};

}  // namespace pyfold::record
