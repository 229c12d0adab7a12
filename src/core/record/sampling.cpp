// The sampling core both methods use: settings, clock and deadline timer, start-up and mode filters, thread roots.
#include "pyfold/record/sampling.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "pyfold/frame_text.hpp"

namespace pyfold::record {

void check_rate(double rate) {
  if (!(rate > 0 && rate <= kMaxRate)) throw std::invalid_argument("--rate must be above 0 and at most 100000");
}

std::string sampling_settings_text(const SamplingSettings& s) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.17g", s.rate);
  return std::string("rate=") + rate +
         ";mode=" + (s.mode == SampleMode::cpu ? "cpu" : s.mode == SampleMode::gil ? "gil" : "wall") +
         ";threads=" + (s.threads ? "1" : "0") +
         ";lines=" + (s.lines == SamplingSettings::Lines::function ? "function"
                      : s.lines == SamplingSettings::Lines::none   ? "none"
                                                                   : "line") +
         ";startup=" + (s.keep_startup ? "1" : "0");
}

SamplingSettings parse_sampling_settings(const std::string& text) {
  SamplingSettings s;
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
      if (rest == value.c_str() || *rest) throw std::invalid_argument("rate=" + value + ": not a number");
      check_rate(s.rate);
    } else if (key == "mode") {
      if (value == "wall") s.mode = SampleMode::wall;
      else if (value == "cpu") s.mode = SampleMode::cpu;
      else if (value == "gil") s.mode = SampleMode::gil;
      else throw std::invalid_argument("mode=" + value + ": not wall, cpu or gil");
    } else if (key == "threads") {
      s.threads = value == "1";
    } else if (key == "startup") {
      s.keep_startup = value == "1";
    } else if (key == "lines") {
      if (value == "line") s.lines = SamplingSettings::Lines::line;
      else if (value == "function") s.lines = SamplingSettings::Lines::function;
      else if (value == "none") s.lines = SamplingSettings::Lines::none;
      else throw std::invalid_argument("lines=" + value + ": not line, function or none");
    }
  }
  return s;
}

double monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void sleep_until(double deadline) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(deadline);
  ts.tv_nsec = static_cast<long>((deadline - static_cast<double>(ts.tv_sec)) * 1e9);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);  // EINTR: a signal, checked by the caller
}

DeadlineTimer::DeadlineTimer(double rate, double start)
    : interval_(1.0 / rate), deadline_(start), random_(std::random_device{}()) {}

void DeadlineTimer::woke(double now) {
  const double late = now - deadline_;
  lateness_sum_ += late;
  lateness_max_ = std::max(lateness_max_, late);
  if (late > interval_) {
    ++late_;
    deadline_ = now;
  }
}

bool is_runpy(const std::string& file) {
  return file == "<frozen runpy>" || (file.size() >= 9 && file.compare(file.size() - 9, 9, "/runpy.py") == 0);
}

bool past_startup(const std::vector<FrameRef>& frames, StartupRule rule) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].code->name != "<module>") continue;
    if (i + 1 == frames.size()) {
      if (rule == StartupRule::launched) return frames[i].code->filename.rfind("<frozen ", 0) != 0;
      continue;
    }
    const CodeInfo& caller = *frames[i + 1].code;
    if (caller.name != "_run_code") continue;
    if (rule == StartupRule::launched ? caller.filename.find("runpy") != std::string::npos
                                      : is_runpy(caller.filename))
      return true;
  }
  return false;
}

bool StartupFilter::keep(const std::vector<ThreadStack>& stacks) {
  if (started_) return true;
  started_ = std::any_of(stacks.begin(), stacks.end(),
                         [this](const ThreadStack& s) { return past_startup(s.frames, rule_); });
  return started_ || keep_;
}

std::string thread_label(pid_t tid, std::uint64_t thread_id) {
  char label[48];
  if (tid || !thread_id) {
    std::snprintf(label, sizeof label, "thread (%d)", tid);
  } else {
    std::snprintf(label, sizeof label, "thread (0x%llx)", static_cast<unsigned long long>(thread_id));
  }
  return label;
}

std::string thread_root_text(std::string label, std::string_view name) {
  std::size_t bare = label.size();
  label += ": ";
  append_sanitized(label, name);
  if (label.size() == bare + 2) label.resize(bare);
  return label;
}

}  // namespace pyfold::record
