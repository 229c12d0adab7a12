// pyfold top's sink on the sampler's thread: per thread, each frame's own and total count; texts as they appear.
#include "pyfold/top/live_counts.hpp"

#include <algorithm>
#include <cstdlib>

namespace pyfold::top {

void Counts::merge(const Counts& other) {
  for (const auto& [key, tally] : other.rows) {
    Tally& t = rows[key];
    t.own += tally.own;
    t.total += tally.total;
  }
  for (const auto& [thread, n] : other.thread_stacks) thread_stacks[thread] += n;
  stacks += other.stacks;
}

namespace {

// `process PID:"cmdline"` -> PID.
pid_t process_root_pid(const std::string& text) {
  return text.rfind("process ", 0) == 0 ? static_cast<pid_t>(std::strtol(text.c_str() + 8, nullptr, 10)) : 0;
}

}  // namespace

void LiveCounts::learn_text(std::uint32_t id) {
  if (id < known_.size() && known_[id]) return;
  if (id >= known_.size()) known_.resize(id + 1, false);
  known_[id] = true;
  taken_.texts.emplace_back(id, texts_ ? texts_->frame_text(id) : std::string("?"));
}

void LiveCounts::add(const std::vector<std::uint32_t>& stack, std::uint64_t count) {
  std::size_t first = subprocesses_ ? 2 : 1;  // the frames under the process's and the thread's roots
  if (stack.size() <= first) return;
  const std::uint32_t thread = stack[first - 1];
  seen_frames_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!thread_names_.count(thread)) {
    const std::string text = texts_ ? texts_->frame_text(thread) : std::string("?");
    thread_names_[thread] = text;
    taken_.texts.emplace_back(thread, text);
    taken_.thread_pids[thread] = subprocesses_ ? process_root_pid(texts_ ? texts_->frame_text(stack[0]) : "") : last_pid_;
  }
  Counts& c = taken_.counts;
  c.stacks += count;
  c.thread_stacks[thread] += count;
  for (std::size_t i = first; i < stack.size(); ++i) {
    const std::uint32_t frame = stack[i];
    learn_text(frame);
    // A recursive function counts once in a stack's total.
    if (std::find(seen_frames_.begin(), seen_frames_.end(), frame) != seen_frames_.end()) continue;
    seen_frames_.push_back(frame);
    c.rows[row_key(thread, frame)].total += count;
  }
  c.rows[row_key(thread, stack.back())].own += count;
}

void LiveCounts::figures(const record::RecordProgress& sampler) {
  // The program's own samples and time: from its first sample kept, the interpreter's start-up left out (a Python
  // slow to start is neither missed samples nor a window without rows).
  if (sampler.first_kept < 0) return;
  record::RecordProgress progress = sampler;
  progress.samples -= std::min(progress.samples, progress.startup);
  progress.seconds = std::max(0.0, progress.seconds - progress.first_kept);
  std::lock_guard<std::mutex> lock(mutex_);
  taken_.progress = progress;
  if (started_.load() < 0) started_.store(record::monotonic_seconds() - progress.seconds);
  if (progress.seconds < names_read_ + 0.5) return;
  names_read_ = progress.seconds;
  // Threads are named (or renamed) after their first sample: their root's text is read again.
  for (auto& [thread, name] : thread_names_) {
    std::string now = texts_ ? texts_->frame_text(thread) : name;
    if (now == name) continue;
    name = now;
    taken_.texts.emplace_back(thread, now);
  }
}

void LiveCounts::process(pid_t pid, const std::string& python_version) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!last_pid_) last_pid_ = pid;
  taken_.processes.emplace_back(pid, python_version);
}

Taken LiveCounts::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  Taken out = std::move(taken_);
  taken_ = Taken{};
  taken_.progress = out.progress;  // (figures come twice a second: a take in between keeps the last)
  return out;
}

}  // namespace pyfold::top
