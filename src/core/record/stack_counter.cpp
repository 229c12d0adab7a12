#include "pyfold/record/stack_counter.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "pyfold/folded.hpp"
#include "pyfold/frame_text.hpp"

namespace pyfold::record {

std::uint32_t StackCounter::intern(std::string_view text) {
  auto [it, inserted] = ids_.try_emplace(std::string(text), static_cast<std::uint32_t>(texts_.size()));
  if (inserted) texts_.emplace_back(text);
  return it->second;
}

std::uint32_t StackCounter::intern_deferred(std::uint64_t key) {
  auto [it, inserted] = deferred_ids_.try_emplace(key, static_cast<std::uint32_t>(texts_.size()));
  if (inserted) {
    texts_.emplace_back();
    deferred_.emplace(it->second, key);
  }
  return it->second;
}

void StackCounter::add(const std::vector<std::uint32_t>& stack, std::uint64_t count) {
  total_ += count;
  if (timeline_) {
    if (!timeline_counts_.empty() && timeline_counts_.back().first == stack) {
      timeline_counts_.back().second += count;
    } else {
      timeline_counts_.emplace_back(stack, count);
    }
    return;
  }
  auto it = counts_.find(stack);
  if (it != counts_.end()) {
    it->second += count;
  } else {
    counts_.emplace(stack, count);
  }
}

void StackCounter::clear_counts() {
  total_ = 0;
  counts_.clear();
  timeline_counts_.clear();
}

void StackCounter::write(OutputSink& out, const DeferredText& deferred_text) const {
  std::vector<std::string> names;  // the deferred frames' texts, now
  const std::vector<std::string>* texts = &texts_;
  if (!deferred_.empty()) {
    names = texts_;
    for (const auto& [id, key] : deferred_) names[id] = deferred_text ? deferred_text(key) : std::string("?");
    texts = &names;
  }
  auto line = [&](const std::vector<std::uint32_t>& stack) {
    std::string s;
    for (std::size_t i = 0; i < stack.size(); ++i) {
      if (i) s.push_back(';');
      s += (*texts)[stack[i]];
    }
    return s;
  };
  std::vector<std::pair<std::string, std::uint64_t>> lines;
  if (timeline_) {
    for (const auto& [stack, count] : timeline_counts_) lines.emplace_back(line(stack), count);
  } else {
    lines.reserve(counts_.size());
    for (const auto& [stack, count] : counts_) lines.emplace_back(line(stack), count);
    std::sort(lines.begin(), lines.end());
  }
  // Two deferred frames may be given the same text (a thread that took another's name): merge what became equal.
  std::string text;
  for (std::size_t i = 0; i < lines.size();) {
    std::uint64_t count = lines[i].second;
    std::size_t j = i + 1;
    for (; j < lines.size() && lines[j].first == lines[i].first; ++j) count += lines[j].second;
    text.clear();
    append_folded_line(text, lines[i].first, count);
    out.write(text);
    i = j;
  }
}

namespace {

double wall_seconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

bool names_each_interval(const std::string& pattern) {
  for (const char* field : {"{time}", "{start}", "{end}", "{n}"})
    if (pattern.find(field) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string expand_profile_name(const std::string& pattern, double start_wall, double end_wall, std::uint64_t n) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    auto starts = [&](const char* field) { return pattern.compare(i, std::strlen(field), field) == 0; };
    char text[64];
    if (starts("{time}")) {
      time_t t = static_cast<time_t>(std::floor(start_wall));
      tm utc{};
      gmtime_r(&t, &utc);
      std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
      out += text, i += 6;
    } else if (starts("{start}")) {
      out += std::to_string(static_cast<long long>(std::floor(start_wall))), i += 7;
    } else if (starts("{end}")) {
      out += std::to_string(static_cast<long long>(std::floor(end_wall))), i += 5;
    } else if (starts("{n}")) {
      out += std::to_string(n), i += 3;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

ProfileWriter::ProfileWriter(std::string output, bool timeline, double rotate)
    : output_(std::move(output)), rotate_(rotate), counter_(timeline) {
  if (rotate_ <= 0) return;
  if (output_.empty() || output_ == "-")
    throw std::invalid_argument("--rotate writes files: give -o with {time}, {start}, {end} or {n} in the name");
  if (!names_each_interval(output_))
    throw std::invalid_argument("--rotate needs {time}, {start}, {end} or {n} in the -o name (one file per interval), "
                                "not '" + output_ + "'");
  if (rotate_ < 1) throw std::invalid_argument("--rotate must be at least 1 second");
}

void ProfileWriter::show_live(StackSink* live) {
  live_ = live;
  if (live_) live_->texts(*this);
}

void ProfileWriter::check_output() const {
  if (live_) return;
  // A sink that is never committed leaves nothing behind; it proves the directory takes our file.
  std::string name = rotate_ > 0 ? expand_profile_name(output_, wall_seconds(), wall_seconds(), 0) : output_;
  OutputSink::open(name);
}

void ProfileWriter::start(double monotonic_now) {
  start_mono_ = monotonic_now;
  start_wall_ = wall_seconds();
  next_boundary_ = rotate_ > 0 ? start_mono_ + rotate_ : INFINITY;
}

void ProfileWriter::add(const std::vector<std::uint32_t>& stack, std::uint64_t count) {
  total_ += count;
  if (live_) return live_->add(stack, count);  // counted there only: nothing is written
  counter_.add(stack, count);
  if (!stack.empty()) self_[stack.back()] += count;
}

void ProfileWriter::figures(const RecordProgress& progress) {
  if (live_) live_->figures(progress);
}

void ProfileWriter::process(pid_t pid, const std::string& python_version) {
  if (live_) live_->process(pid, python_version);
}

std::string ProfileWriter::frame_text(std::uint32_t id) const {
  auto thread = thread_of_root_.find(id);
  if (thread == thread_of_root_.end()) return counter_.text(id);
  return thread_root_text(threads_[thread->second].label, threads_[thread->second].name);
}

void ProfileWriter::rotate_if_due(double monotonic_now) {
  if (live_) return;
  // Every sample belongs to the interval open when it is added: each is written once, in one file.
  while (monotonic_now >= next_boundary_) {
    double start = start_wall_ + rotate_ * static_cast<double>(interval_);
    write_profile(start, start + rotate_);
    next_boundary_ += rotate_;
  }
}

void ProfileWriter::finish(double monotonic_now, const std::function<bool()>& stop_waiting) {
  if (live_) return;
  if (rotate_ > 0) {
    rotate_if_due(monotonic_now);
    double start = start_wall_ + rotate_ * static_cast<double>(interval_);
    write_profile(start, start_wall_ + (monotonic_now - start_mono_));
  } else {
    write_profile(start_wall_, start_wall_ + (monotonic_now - start_mono_));
  }
  if (handoff_)  // the last file is handed on too; wait for the queue (bounded; stop_waiting ends it)
    handoff_notes_.push_back(handoff_->finish(stop_waiting).text());
}

void ProfileWriter::set_output(const ProfileOutput& output) {  //
  output_settings_ = output;
  if (!output.handoff.command.empty() && rotate_ > 0) handoff_ = std::make_unique<ProfileHandoff>(output.handoff);
}

void ProfileWriter::write_profile(double start_wall, double end_wall) {
  std::string name = rotate_ > 0 ? expand_profile_name(output_, start_wall, end_wall, interval_) : output_;
  auto out = OutputSink::open(name);
  auto thread_text = [&](std::uint64_t key) {
    const Thread& t = threads_[key];
    return thread_root_text(t.label, t.name);
  };
  if (output_settings_.format == ProfileFormat::pprof) {  // --format pprof: the folded lines, encoded
    std::string folded;
    auto lines = OutputSink::into_string(folded);
    counter_.write(*lines, thread_text);
    lines->commit();
    PprofProfileInfo info = output_settings_.pprof;
    info.start = start_wall, info.end = end_wall;
    write_pprof_profile(*out, folded, info);
  } else {
    counter_.write(*out, thread_text);
  }
  out->commit();
  counter_.clear_counts();
  files_.push_back(out->name());
  if (handoff_)  // complete now: closed and renamed into place
    handoff_->hand_on({name, start_wall, end_wall, expand_profile_name("{time}", start_wall, end_wall, interval_),
                       interval_, output_settings_.pid, output_settings_.pprof.rate});
  ++interval_;
}

std::uint32_t ProfileWriter::thread_root(pid_t pid, std::uint64_t key, const std::string& label) {
  auto [it, inserted] = thread_roots_.try_emplace({pid, key}, 0);
  if (inserted) {
    threads_.push_back(Thread{label, "", false});
    it->second = counter_.intern_deferred(threads_.size() - 1);
    thread_of_root_[it->second] = static_cast<std::uint32_t>(threads_.size() - 1);
  }
  return it->second;
}

void ProfileWriter::name_thread(std::uint32_t root, const std::string& name, bool from_python) {
  Thread& t = threads_[thread_of_root_.at(root)];
  if ((t.from_python && !from_python) || (t.from_python == from_python && t.name == name)) return;
  t.name = name;
  t.from_python = from_python;
}

bool ProfileWriter::named_by_python(std::uint32_t root) const {
  return threads_[thread_of_root_.at(root)].from_python;
}

std::vector<FunctionShare> ProfileWriter::top_self(std::size_t n) const {
  // By function: `func (file:line)` and `func (file:other line)` are one.
  std::unordered_map<std::string, std::uint64_t> by_function;
  for (const auto& [id, count] : self_) {
    if (thread_of_root_.count(id)) continue;
    FrameParts parts = parse_frame_text(counter_.text(id));
    std::string text;
    append_frame_parts(text, parts.function, parts.file, 0);
    by_function[text] += count;
  }
  std::vector<std::pair<std::string, std::uint64_t>> sorted(by_function.begin(), by_function.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  std::vector<FunctionShare> top;
  for (std::size_t i = 0; i < sorted.size() && i < n; ++i)
    top.push_back({sorted[i].first, total_ ? static_cast<double>(sorted[i].second) / static_cast<double>(total_) : 0});
  return top;
}

}  // namespace pyfold::record
