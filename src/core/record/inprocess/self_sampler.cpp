#include "pyfold/record/inprocess/self_sampler.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>

#include "pyfold/frame_text.hpp"

namespace pyfold::record {

namespace {

// The bootstrap runs as `python -c SOURCE`: its frames are in "<string>", and runpy's follow them at the root.
bool is_bootstrap(const CodeInfo& code) { return code.filename == "<string>" || is_runpy(code.filename); }

}  // namespace

SelfSampler::SelfSampler(int fd, const SamplingSettings& settings)
    : fd_(fd), settings_(settings), pid_(getpid()), python_(PythonProcess::attach(pid_)), off_cpu_(pid_),
      stat_(pid_), startup_filter_(StartupRule::bootstrap, settings.keep_startup, false) {
  // No ptrace: a thread cannot trace its own process. A read that is not consistent is read again, then given up.
  python_->stop_thread_as_last_resort(false);
}

SelfSampler::~SelfSampler() { stop(); }

void SelfSampler::start() {
  start_ = monotonic_seconds();
  char line[64];
  std::snprintf(line, sizeof line, "#pyfold-start monotonic=%.6f\n", start_);
  write_all(line);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread starts with every signal blocked
  pthread_t thread;
  int e = pthread_create(
      &thread, nullptr, [](void* self) -> void* {
        static_cast<SelfSampler*>(self)->run();
        return nullptr;
      },
      this);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (e != 0) throw std::runtime_error(std::string("cannot start the sampling thread: ") + std::strerror(e));
  thread_ = thread;
  running_ = true;
}

void SelfSampler::stop() {
  if (!running_ || getpid() != pid_) return;  // never started, stopped, or a forked child (it has no such thread)
  running_ = false;
  stop_ = true;
  pthread_join(static_cast<pthread_t>(thread_), nullptr);
  std::string totals;
  for (const auto& [reason, count] : not_recorded_)
    totals += "#pyfold-not-recorded " + std::to_string(count) + " " + reason + "\n";
  auto us = [](double seconds) { return std::to_string(static_cast<std::uint64_t>(seconds * 1e6)); };
  totals += "#pyfold ticks=" + std::to_string(ticks_) + " startup=" + std::to_string(startup_) +
            " errors=0 started=" + (startup_filter_.started() ? "1" : "0") + " live=" + std::to_string(live_) + " native=1" +
            " reads=" + std::to_string(python_->reads()) + " retries=" + std::to_string(python_->retries()) +
            " sampling_us=" + us(sampling_seconds_) + " late=" + std::to_string(timer_ ? timer_->late() : 0) +
            " lateness_sum_us=" + us(timer_ ? timer_->lateness_sum() : 0) +
            " lateness_max_us=" + us(timer_ ? timer_->lateness_max() : 0) + "\n";
  write_all(totals);
}

void SelfSampler::run() {
  pthread_setname_np(pthread_self(), "pyfold-sampler");  // as top and /proc show it among the program's threads
  // The remote method's timer (sampling.hpp): jittered deadlines, missed ones skipped.
  timer_ = std::make_unique<DeadlineTimer>(settings_.rate, start_);
  DeadlineTimer& timer = *timer_;
  while (!stop_.load(std::memory_order_relaxed) && writing_) {
    // Sleep in slices, so that stop() never waits long at low rates.
    for (double now; !stop_.load(std::memory_order_relaxed) && (now = monotonic_seconds()) < timer.deadline();) {
      double slice = std::min(timer.deadline() - now, 0.05);
      timespec ts{static_cast<time_t>(slice),
                  static_cast<long>((slice - static_cast<double>(static_cast<time_t>(slice))) * 1e9)};
      nanosleep(&ts, nullptr);
    }
    if (stop_.load(std::memory_order_relaxed)) break;
    const double now = monotonic_seconds();
    timer.woke(now);
    sample();
    sampling_seconds_ += monotonic_seconds() - now;
    timer.advance();
  }
}

// As the remote method's default read (remote_recorder.cpp): one instant when the GIL's thread stayed off its CPU during
// the read (the sampler runs on its CPU, so waking there takes the CPU from it) and nobody else took the GIL.
// Without ptrace there is no stopped read to fall back on. A read that was not consistent is read again at once; a
// read during which the holder ran elsewhere is kept as it is (`live`, counted), and only then does the sampler move
// to the holder's CPU, for the next samples: moving first and reading again would wait for that CPU, up to a
// timeslice, and a state that lasts longer than that (the fib thread's long C call) would be seen in place of a
// short one that ended meanwhile (it was 5-8 points over --blocking's share on three threads).
bool SelfSampler::read_one_instant() {
  constexpr int kAttempts = 4;
  PythonProcess::Read result = PythonProcess::Read::ok;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    off_cpu_.before(gil_tid_);
    result = python_->read_stacks(stacks_);
    if (result != PythonProcess::Read::ok) continue;
    const pid_t holder = gil_holder(python_->walker(), stacks_);
    if (read_was_one_instant(off_cpu_, python_->walker(), holder)) {
      gil_tid_ = holder;
      return true;
    }
    if (holder == 0 || holder == gil_tid_) break;  // the holder ran during the read: kept as read
    gil_tid_ = holder;  // the GIL changed hands since the last sample: read again, watching the new holder
  }
  if (gil_tid_ != 0) off_cpu_.follow(gil_tid_);
  if (result == PythonProcess::Read::ok) ++live_;
  return result == PythonProcess::Read::ok;
}

void SelfSampler::sample() {
  ++ticks_;
  out_.clear();
  take_stacks();
  constexpr double kProgressEvery = 0.02;  // pyfold top's header moves on while no stack is counted (--mode cpu)
  const double now = monotonic_seconds();
  if (out_.empty() && now < progress_at_ + kProgressEvery) return;
  progress_at_ = now;
  out_ += "#pyfold-progress ticks=" + std::to_string(ticks_) + " not_recorded=" + std::to_string(not_recorded_count_) +
          " startup=" + std::to_string(startup_);
  if (kept_at_ >= 0) out_ += " kept_us=" + std::to_string(static_cast<std::uint64_t>(kept_at_ * 1e6));
  out_ += '\n';
  write_all(out_);
}

void SelfSampler::take_stacks() {
  if (!read_one_instant()) {
    ++not_recorded_[python_->last_torn_reason().empty() ? std::string("a read of the stacks was not consistent")
                                                        : python_->last_torn_reason()];
    ++not_recorded_count_;
    return;
  }
  if (!startup_filter_.keep(stacks_)) {
    ++startup_;
    return;
  }
  if (kept_at_ < 0) kept_at_ = monotonic_seconds() - start_;
  if (settings_.threads) python_->thread_names().update(stacks_);
  for (const ThreadStack& thread : stacks_) {
    if (!counted_in_mode(settings_.mode, thread, [&] { return thread.tid ? stat_.state(thread.tid) : '?'; }))
      continue;
    // Root first, without the bootstrap's and runpy's frames at the root: the stack starts at the target's <module>.
    auto root = thread.frames.rbegin();
    while (root != thread.frames.rend() && is_bootstrap(*root->code)) ++root;
    if (root == thread.frames.rend()) continue;
    line_.clear();
    if (settings_.threads) line_ += thread_root(thread) + ';';
    for (auto f = root; f != thread.frames.rend(); ++f) {
      if (f != root) line_ += ';';
      line_ += frame_text(*f);
    }
    out_ += line_;
    out_ += " 1\n";
  }
}

const std::string& SelfSampler::frame_text(const FrameRef& frame) {
  const CodeInfo& code = *frame.code;
  int line = settings_.lines == SamplingSettings::Lines::none       ? 0
             : settings_.lines == SamplingSettings::Lines::function ? code.first_line
                                                                       : frame.line;
  auto cached = code.frame_ids.find(line);
  if (cached != code.frame_ids.end()) return texts_[cached->second];
  std::string text;
  append_frame_text(text, code.name, code.filename, line);
  auto [it, fresh] = text_ids_.emplace(text, static_cast<std::uint32_t>(texts_.size()));
  if (fresh) texts_.push_back(std::move(text));
  frame.code->frame_ids.emplace(line, it->second);
  return texts_[it->second];
}

std::string SelfSampler::thread_root(const ThreadStack& thread) {
  std::string name = python_->thread_names().name(thread);
  if (name.empty() && thread.tid) name = thread_name(pid_, thread.tid);
  return thread_root_text(thread_label(thread.tid, 0), name);  // by TID only (the bootstrap's roots are so)
}

bool SelfSampler::write_all(const std::string& text) {
  for (std::size_t done = 0; writing_ && done < text.size();) {
    ssize_t n = write(fd_, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      writing_ = false;  // pyfold went away: stop sampling, let the program finish
    }
  }
  return writing_;
}

}  // namespace pyfold::record
