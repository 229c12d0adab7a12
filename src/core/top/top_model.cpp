// pyfold top's rows: the intervals merged, a window chosen, rows per function (or line) summed over the threads
// in view, sorted and filtered; the table as plain text.
#include "pyfold/top/top_model.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include <unistd.h>

#include "pyfold/frame_text.hpp"
#include "pyfold/record/os/process_tree.hpp"

namespace pyfold::top {

std::string row_name(const std::string& frame_text, bool lines) {
  if (lines) return frame_text;
  FrameParts parts = parse_frame_text(frame_text);
  std::string out;
  append_frame_parts(out, parts.function, parts.file, 0);
  return out;
}

namespace {

// The in-process method does not read the version: the interpreter's file name tells it (`python3.11`), or "".
std::string version_of_exe(pid_t pid) {
  char path[4096];
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  const ssize_t n = readlink(link.c_str(), path, sizeof path - 1);
  if (n <= 0) return "";
  const std::string exe(path, static_cast<std::size_t>(n));
  const std::string name = exe.substr(exe.rfind('/') + 1);
  const std::size_t digits = name.find_first_of("0123456789");
  if (name.rfind("python", 0) != 0 || digits == std::string::npos || name.find('.', digits) == std::string::npos)
    return "";
  return name.substr(digits);
}

}  // namespace

void TopModel::update(Taken&& taken, double cpu_seconds, double now) {
  for (auto& [id, text] : taken.texts) texts_[id] = std::move(text);
  for (const auto& [thread, pid] : taken.thread_pids) thread_pids_[thread] = pid;
  for (const auto& [pid, version] : taken.processes) processes_[pid] = version.empty() ? version_of_exe(pid) : version;
  Figures f{taken.progress.samples, taken.progress.not_recorded, taken.progress.seconds, cpu_seconds, now};
  if (intervals_ == 0) start_ = before_ = Figures{0, 0, 0, start_cpu_, now - taken.progress.seconds};
  else before_ = now_;
  now_ = f;
  all_.merge(taken.counts);
  last_ = std::move(taken.counts);
  ++intervals_;
}

Table TopModel::table(const ViewState& view) const {
  Table t;
  const bool all = view.window == Window::all;
  const Figures& from = all ? start_ : before_;
  const Counts& counts = all ? all_ : last_;
  t.window = all ? "since the start" : "last interval";
  t.mode = sampled_.mode;
  t.rate = sampled_.rate;
  t.subprocesses = sampled_.subprocesses;
  t.lines = sampled_.lines;
  if (!processes_.empty()) {
    t.pid = processes_.begin()->first;
    t.python_version = processes_.begin()->second;
    t.command = record::command_line_of(t.pid);
  }
  t.processes = processes_.size();
  t.samples = now_.samples - from.samples;
  t.not_recorded = now_.not_recorded - from.not_recorded;
  t.seconds = now_.seconds - from.seconds;
  t.rate_achieved = t.seconds > 0 ? static_cast<double>(t.samples) / t.seconds : 0;
  const double wall = now_.wall - from.wall;
  t.pyfold_cpu = wall > 0 ? (now_.cpu - from.cpu) / wall : 0;
  for (const auto& [thread, n] : counts.thread_stacks)
    if (n) ++t.threads;
  t.thread = "all threads";
  if (view.thread != kAllThreads) {
    auto it = texts_.find(view.thread);
    t.thread = it != texts_.end() ? it->second : "thread ?";
    auto n = counts.thread_stacks.find(view.thread);
    t.stacks = n != counts.thread_stacks.end() ? n->second : 0;
  } else {
    t.stacks = counts.stacks;
  }
  // Rows by (process, name): threads summed, lines of one function summed unless --lines.
  std::map<std::pair<pid_t, std::string>, Tally> rows;
  std::unordered_map<std::uint32_t, std::string> names;  // frame id -> row name
  for (const auto& [key, tally] : counts.rows) {
    const std::uint32_t thread = key_thread(key);
    if (view.thread != kAllThreads && thread != view.thread) continue;
    auto name = names.find(key_frame(key));
    if (name == names.end()) {
      auto text = texts_.find(key_frame(key));
      name = names.emplace(key_frame(key), row_name(text != texts_.end() ? text->second : "?", sampled_.lines)).first;
    }
    auto pid = thread_pids_.find(thread);
    Tally& r = rows[{sampled_.subprocesses && pid != thread_pids_.end() ? pid->second : 0, name->second}];
    r.own += tally.own;
    r.total += tally.total;
  }
  // Each thread's sample lasts the window's seconds over its process's samples (with --subprocesses the samples
  // are counted a process each: shared evenly among the processes seen, the best guess without a count each).
  const double processes = sampled_.subprocesses ? static_cast<double>(std::max<std::size_t>(1, t.processes)) : 1;
  const double per_stack = t.samples ? processes * t.seconds / static_cast<double>(t.samples) : 0;
  const double stacks = static_cast<double>(t.stacks);
  for (const auto& [key, tally] : rows) {
    if (view.filter && !std::regex_search(key.second, *view.filter)) continue;
    Row r;
    r.pid = key.first;
    r.name = key.second;
    r.own = tally.own, r.total = tally.total;
    r.own_share = stacks > 0 ? static_cast<double>(tally.own) / stacks : 0;
    r.total_share = stacks > 0 ? static_cast<double>(tally.total) / stacks : 0;
    r.own_seconds = static_cast<double>(tally.own) * per_stack;
    r.total_seconds = static_cast<double>(tally.total) * per_stack;
    t.rows.push_back(std::move(r));
  }
  auto by = view.sort;
  std::stable_sort(t.rows.begin(), t.rows.end(), [by](const Row& a, const Row& b) {
    if (by == SortBy::name) return a.name < b.name;
    const std::uint64_t x = by == SortBy::own ? a.own : a.total, y = by == SortBy::own ? b.own : b.total;
    if (x != y) return x > y;
    const std::uint64_t x2 = by == SortBy::own ? a.total : a.own, y2 = by == SortBy::own ? b.total : b.own;
    return x2 != y2 ? x2 > y2 : a.name < b.name;
  });
  return t;
}

std::vector<ThreadChoice> TopModel::threads() const {
  std::vector<ThreadChoice> out;
  out.push_back({kAllThreads, "all threads", 0, 1});
  for (const auto& [thread, n] : all_.thread_stacks) {
    auto text = texts_.find(thread);
    auto pid = thread_pids_.find(thread);
    out.push_back({thread, text != texts_.end() ? text->second : "thread ?", pid != thread_pids_.end() ? pid->second : 0,
                   all_.stacks ? static_cast<double>(n) / static_cast<double>(all_.stacks) : 0});
  }
  std::sort(out.begin() + 1, out.end(), [](const ThreadChoice& a, const ThreadChoice& b) {
    return a.share != b.share ? a.share > b.share : a.name < b.name;
  });
  return out;
}

std::string plain_table(const Table& t) {
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line,
                "# pid=%d python=%s mode=%s rate=%.0f achieved=%.0f samples=%" PRIu64 " not_recorded=%" PRIu64
                " stacks=%" PRIu64 " threads=%zu seconds=%.2f pyfold_cpu=%.1f%% window=%s thread=",
                static_cast<int>(t.pid), t.python_version.empty() ? "?" : t.python_version.c_str(), t.mode.c_str(),
                t.rate, t.rate_achieved, t.samples, t.not_recorded, t.stacks, t.threads, t.seconds,
                100 * t.pyfold_cpu, t.window == "since the start" ? "all" : "last");
  out += line;
  out += t.thread + "\n";
  out += t.subprocesses ? "own%\ttotal%\town_s\ttotal_s\tpid\t" : "own%\ttotal%\town_s\ttotal_s\t";
  out += t.lines ? "line\n" : "function\n";
  for (const Row& r : t.rows) {
    std::snprintf(line, sizeof line, "%.2f\t%.2f\t%.3f\t%.3f\t", 100 * r.own_share, 100 * r.total_share,
                  r.own_seconds, r.total_seconds);
    out += line;
    if (t.subprocesses) out += std::to_string(r.pid) + "\t";
    out += r.name + "\n";
  }
  out += "\n";
  return out;
}

}  // namespace pyfold::top
