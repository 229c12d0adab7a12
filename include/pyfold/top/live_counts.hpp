#pragma once
// pyfold top's sink: the recording core's second StackSink. On the sampler's thread it folds each stack into what
// the view shows (per thread: each function's own and total count) and keeps the frames' texts; the view's thread
// takes what was counted since it last looked.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pyfold/record/sampling.hpp"

namespace pyfold::top {

// A row's counts: stacks with the frame innermost (own), stacks with the frame anywhere (total, once a stack).
struct Tally {
  std::uint64_t own = 0, total = 0;
};

// Row key: the thread's root frame id and the frame's id.
inline std::uint64_t row_key(std::uint32_t thread, std::uint32_t frame) {
  return static_cast<std::uint64_t>(thread) << 32 | frame;
}
inline std::uint32_t key_thread(std::uint64_t key) { return static_cast<std::uint32_t>(key >> 32); }
inline std::uint32_t key_frame(std::uint64_t key) { return static_cast<std::uint32_t>(key); }

// Stacks counted over some time.
struct Counts {
  std::unordered_map<std::uint64_t, Tally> rows;
  std::unordered_map<std::uint32_t, std::uint64_t> thread_stacks;  // thread root -> its stacks
  std::uint64_t stacks = 0;
  void merge(const Counts& other);
};

// What the view takes each interval.
struct Taken {
  Counts counts;  // since the last take
  record::RecordProgress progress;  // the sampler's figures, the latest, from the first sample kept
  std::vector<std::pair<std::uint32_t, std::string>> texts;  // frame texts new or changed since the last take
  std::unordered_map<std::uint32_t, pid_t> thread_pids;  // new threads' processes
  std::vector<std::pair<pid_t, std::string>> processes;  // new processes (PID, Python version)
};

class LiveCounts : public record::StackSink {
 public:
  // subprocesses: each stack starts with its process's root (`process PID:"..."`); always a thread's root next.
  explicit LiveCounts(bool subprocesses) : subprocesses_(subprocesses) {}
  void add(const std::vector<std::uint32_t>& stack, std::uint64_t count) override;
  void figures(const record::RecordProgress& progress) override;
  // Often: the header's samples and seconds keep up with the counts taken.
  double figures_interval() const override { return 0.02; }
  void texts(const record::FrameTexts& texts) override { texts_ = &texts; }
  void process(pid_t pid, const std::string& python_version) override;
  // On the view's thread.
  Taken take();
  // When the program's first sample was kept (the monotonic clock; the figures' seconds and samples count from
  // there), or -1 before: the view's intervals start there, not at the launch.
  double sampling_started() const { return started_.load(); }

 private:
  void learn_text(std::uint32_t id);
  bool subprocesses_;
  const record::FrameTexts* texts_ = nullptr;  // read on the sampler's thread only
  std::vector<std::uint32_t> seen_frames_;     // per stack: frames already counted in its total
  std::vector<bool> known_;                    // frame ids whose text was taken
  std::unordered_map<std::uint32_t, std::string> thread_names_;  // thread root -> text last given
  double names_read_ = -1;                                       // when the threads' names were last read
  pid_t last_pid_ = 0;                                           // without --subprocesses: the one process
  std::atomic<double> started_{-1};
  std::mutex mutex_;                                             // guards taken_
  Taken taken_;
};

}  // namespace pyfold::top
