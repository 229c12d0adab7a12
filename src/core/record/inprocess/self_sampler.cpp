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

double monotonic_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool is_runpy(const std::string& file) {
  return file == "<frozen runpy>" || (file.size() >= 9 && file.compare(file.size() - 9, 9, "/runpy.py") == 0);
}

// The bootstrap runs as `python -c SOURCE`: its frames are in "<string>", and runpy's follow them at the root.
bool is_bootstrap(const CodeInfo& code) { return code.filename == "<string>" || is_runpy(code.filename); }

// The target's first line: its <module> called by runpy's _run_code (run_path and -m alike).
bool past_startup(const std::vector<FrameRef>& frames) {
  for (std::size_t i = 0; i + 1 < frames.size(); ++i)
    if (frames[i].code->name == "<module>" && frames[i + 1].code->name == "_run_code" &&
        is_runpy(frames[i + 1].code->filename))
      return true;
  return false;
}

}  // namespace

SelfSamplerSettings parse_self_sampler_settings(const std::string& text) {
  SelfSamplerSettings s;
  for (std::size_t pos = 0; pos <= text.size();) {
    std::size_t end = text.find(';', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "rate") {
      char* rest = nullptr;
      s.rate = std::strtod(value.c_str(), &rest);
      if (rest == value.c_str() || *rest || !(s.rate > 0) || s.rate > 1e6)
        throw std::invalid_argument("rate=" + value + ": not a rate");
    } else if (key == "mode") {
      if (value == "wall") s.mode = SelfSamplerSettings::Mode::wall;
      else if (value == "cpu") s.mode = SelfSamplerSettings::Mode::cpu;
      else if (value == "gil") s.mode = SelfSamplerSettings::Mode::gil;
      else throw std::invalid_argument("mode=" + value + ": not wall, cpu or gil");
    } else if (key == "threads") {
      s.threads = value == "1";
    } else if (key == "startup") {
      s.keep_startup = value == "1";
    } else if (key == "lines") {
      if (value == "line") s.lines = SelfSamplerSettings::Lines::line;
      else if (value == "function") s.lines = SelfSamplerSettings::Lines::function;
      else if (value == "none") s.lines = SelfSamplerSettings::Lines::none;
      else throw std::invalid_argument("lines=" + value + ": not line, function or none");
    }
  }
  return s;
}

SelfSampler::SelfSampler(int fd, const SelfSamplerSettings& settings)
    : fd_(fd), settings_(settings), pid_(getpid()), python_(PythonProcess::attach(pid_)), off_cpu_(pid_),
      stat_(pid_) {
  // No ptrace: a thread cannot trace its own process. A read that is not consistent is read again, then given up.
  python_->stop_thread_as_last_resort(false);
}

SelfSampler::~SelfSampler() { stop(); }

void SelfSampler::start() {
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
            " errors=0 started=" + (started_ ? "1" : "0") + " live=" + std::to_string(live_) + " native=1" +
            " reads=" + std::to_string(python_->reads()) + " retries=" + std::to_string(python_->retries()) +
            " sampling_us=" + us(sampling_seconds_) + " late=" + std::to_string(late_) +
            " lateness_sum_us=" + us(lateness_sum_) + " lateness_max_us=" + us(lateness_max_) + "\n";
  write_all(totals);
}

void SelfSampler::run() {
  pthread_setname_np(pthread_self(), "pyfold-sampler");  // as top and /proc show it among the program's threads
  const double interval = 1.0 / settings_.rate;
  // As the remote method: deadlines a random 0.5-1.5 intervals apart (no aliasing with periodic work); missed ones
  // skipped, not made up in a burst (a burst samples one moment many times).
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  double next = monotonic_now();
  while (!stop_.load(std::memory_order_relaxed) && writing_) {
    // Sleep in slices, so that stop() never waits long at low rates.
    for (double now; !stop_.load(std::memory_order_relaxed) && (now = monotonic_now()) < next;) {
      double slice = std::min(next - now, 0.05);
      timespec ts{static_cast<time_t>(slice),
                  static_cast<long>((slice - static_cast<double>(static_cast<time_t>(slice))) * 1e9)};
      nanosleep(&ts, nullptr);
    }
    if (stop_.load(std::memory_order_relaxed)) break;
    const double now = monotonic_now();
    const double late = now - next;
    lateness_sum_ += late;
    lateness_max_ = std::max(lateness_max_, late);
    if (late > interval) {
      ++late_;
      next = now;
    }
    sample();
    sampling_seconds_ += monotonic_now() - now;
    next += interval * jitter(random);
  }
}

// As the remote method's default read (recorder.cpp): one instant when the GIL's thread stayed off its CPU during
// the read (the sampler moves onto its CPU, so waking there takes the CPU from it) and nobody else took the GIL.
// Without ptrace there is no stopped read to fall back on: after a move to the holder's CPU it is read again (also
// after a read that was not consistent, which is what a thread running during the read gives), and a read that is
// still not one instant is kept and counted (`live`), never dropped.
bool SelfSampler::read_one_instant() {
  constexpr int kAttempts = 4;
  PythonProcess::Read result = PythonProcess::Read::ok;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    off_cpu_.before(gil_tid_);
    result = python_->read_stacks(stacks_);
    if (result != PythonProcess::Read::ok) {
      if (gil_tid_ != 0) off_cpu_.follow(gil_tid_);
      continue;
    }
    const pid_t holder = gil_holder(python_->walker(), stacks_);
    if (read_was_one_instant(off_cpu_, python_->walker(), holder)) {
      gil_tid_ = holder;
      return true;
    }
    if (holder != 0 && holder != gil_tid_) {
      gil_tid_ = holder;  // the GIL changed hands: watch the new holder
    } else if (holder != 0) {
      off_cpu_.follow(holder);
    }
  }
  if (result == PythonProcess::Read::ok) ++live_;
  return result == PythonProcess::Read::ok;
}

void SelfSampler::sample() {
  ++ticks_;
  if (!read_one_instant()) {
    ++not_recorded_[python_->last_torn_reason().empty() ? std::string("a read of the stacks was not consistent")
                                                        : python_->last_torn_reason()];
    return;
  }
  if (!started_) {
    for (const ThreadStack& s : stacks_) started_ = started_ || past_startup(s.frames);
    if (!started_ && !settings_.keep_startup) {
      ++startup_;
      return;
    }
  }
  out_.clear();
  for (const ThreadStack& thread : stacks_) {
    if (thread.frames.empty()) continue;
    if (settings_.mode == SelfSamplerSettings::Mode::gil && !thread.holds_gil) continue;
    if (settings_.mode == SelfSamplerSettings::Mode::cpu && !thread.holds_gil &&
        (thread.tid == 0 || stat_.state(thread.tid) != 'R'))
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
  if (!out_.empty()) write_all(out_);
}

const std::string& SelfSampler::frame_text(const FrameRef& frame) {
  const CodeInfo& code = *frame.code;
  int line = settings_.lines == SelfSamplerSettings::Lines::none       ? 0
             : settings_.lines == SelfSamplerSettings::Lines::function ? code.first_line
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
  std::string name = python_->python_thread_name(thread.thread_id);
  if (name.empty() && thread.tid) name = thread_name(pid_, thread.tid);
  char label[48];
  std::snprintf(label, sizeof label, "thread (%d): ", thread.tid);
  std::string root = label;
  append_sanitized(root, name);
  return root;
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
