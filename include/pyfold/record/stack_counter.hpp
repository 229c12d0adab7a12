#pragma once
// Counts sampled stacks as sequences of interned frame texts, and writes them as folded lines: one profile, or one
// per --rotate interval.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/record/sampling.hpp"
#include "pyfold/record/rotation_handoff.hpp"  //

namespace pyfold::record {

class StackCounter {
 public:
  explicit StackCounter(bool timeline) : timeline_(timeline) {}
  // The id of a frame text (already in folded frame form).
  std::uint32_t intern(std::string_view text);
  // The id of a frame whose text is decided when written (by write's deferred_text(key)): a thread's root frame,
  // named with the last name known for it.
  std::uint32_t intern_deferred(std::uint64_t key);
  // Adds count samples of the stack (frame ids, root first).
  void add(const std::vector<std::uint32_t>& stack, std::uint64_t count = 1);
  std::uint64_t total() const { return total_; }
  using DeferredText = std::function<std::string(std::uint64_t key)>;
  // Writes `frame;frame;... COUNT` lines: merged and sorted, or in time order with consecutive repeats merged.
  void write(OutputSink& out, const DeferredText& deferred_text = {}) const;
  // Forgets the counts (not the interned frames): the next profile starts empty.
  void clear_counts();
  // The text of a frame that is not deferred.
  const std::string& text(std::uint32_t id) const { return texts_[id]; }

 private:
  struct Hash {
    std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
      std::uint64_t h = 1469598103934665603ull;
      for (std::uint32_t x : v) h = (h ^ x) * 1099511628211ull;
      return static_cast<std::size_t>(h);
    }
  };
  bool timeline_;
  std::uint64_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> texts_;
  std::unordered_map<std::uint32_t, std::uint64_t> deferred_;  // frame id -> key
  std::unordered_map<std::uint64_t, std::uint32_t> deferred_ids_;
  std::unordered_map<std::vector<std::uint32_t>, std::uint64_t, Hash> counts_;
  std::vector<std::pair<std::vector<std::uint32_t>, std::uint64_t>> timeline_counts_;
};

// A function's share of the samples, for the summary.
struct FunctionShare {
  std::string function;  // `func (file)`: the frame text without its line
  double self = 0;       // share of the samples with it innermost
};

// Where pyfold record's profile goes: one file (or standard output), or with rotate > 0 one file per interval,
// named from a template (see expand_profile_name). Owns the counter, the threads' root frames and the functions'
// self counts; shared by both recording methods.
class ProfileWriter : public StackSink, public FrameTexts {
 public:
  // rotate: seconds per profile, 0 for one profile. Throws std::invalid_argument for a template that cannot
  // name each interval apart.
  ProfileWriter(std::string output, bool timeline, double rotate);
  StackCounter& counter() { return counter_; }
  // pyfold top: every stack, the figures and the processes go to live instead, and no profile is written.
  void show_live(StackSink* live);
  // Fails now (IoError) if the output cannot be created: before a program is launched.
  void check_output() const;
  void start(double monotonic_now);  // the first interval starts
  // Adds count samples of the stack to the profile of the interval open now.
  void add(const std::vector<std::uint32_t>& stack, std::uint64_t count = 1) override;
  void figures(const RecordProgress& progress) override;
  double figures_interval() const override { return live_ ? live_->figures_interval() : 0.5; }
  void process(pid_t pid, const std::string& python_version) override;
  std::string frame_text(std::uint32_t id) const override;
  // Writes the profile of each interval that has ended (--rotate); a no-op otherwise.
  void rotate_if_due(double monotonic_now);
  // Writes the last (or only) profile.
  // stop_waiting: ends the wait for --on-rotate's queue early (a second Ctrl-C).
  void finish(double monotonic_now, const std::function<bool()>& stop_waiting = {});
  std::uint64_t total() const { return total_; }
  const std::vector<std::string>& files() const { return files_; }
  std::vector<FunctionShare> top_self(std::size_t n) const;
  // --format and --on-rotate: how each profile is written and whom each file is handed to; before start().
  void set_output(const ProfileOutput& output);
  // What the hand-off did (for the summary's notes), once finish() waited for it.
  const std::vector<std::string>& handoff_notes() const { return handoff_notes_; }

  // The root frame of a thread: `thread (TID): NAME` with the last name given by name_thread, decided when written.
  // key tells threads apart (TID, or thread ident when the TID is unknown) within process pid.
  std::uint32_t thread_root(pid_t pid, std::uint64_t key, const std::string& label);
  // from_python: threading's name (kept over an OS name given later).
  void name_thread(std::uint32_t root, const std::string& name, bool from_python);
  bool named_by_python(std::uint32_t root) const;

 private:
  struct Thread {
    std::string label;  // "thread (TID)"
    std::string name;
    bool from_python = false;
  };
  void write_profile(double start_wall, double end_wall);
  std::string output_;
  StackSink* live_ = nullptr;  // pyfold top's view
  double rotate_;
  StackCounter counter_;
  std::vector<Thread> threads_;
  std::map<std::pair<pid_t, std::uint64_t>, std::uint32_t> thread_roots_;  // -> frame id
  std::unordered_map<std::uint32_t, std::uint32_t> thread_of_root_;         // frame id -> index in threads_
  std::unordered_map<std::uint32_t, std::uint64_t> self_;                    // innermost frame id -> samples
  std::uint64_t total_ = 0;
  double start_mono_ = 0, start_wall_ = 0, next_boundary_ = 0;
  std::uint64_t interval_ = 0;
  std::vector<std::string> files_;
  ProfileOutput output_settings_;               //
  std::unique_ptr<ProfileHandoff> handoff_;     // with --on-rotate
  std::vector<std::string> handoff_notes_;      //
};

// A --rotate file name: {time} the interval's start (UTC, 20261128T064500Z), {start} and {end} in Unix seconds,
// {n} the interval's number from 0.
std::string expand_profile_name(const std::string& pattern, double start_wall, double end_wall, std::uint64_t n);

}  // namespace pyfold::record
