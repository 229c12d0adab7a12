#pragma once
// What pyfold top shows, apart from how it is drawn: the counts of each interval taken from the sink, merged since
// the start; a table of rows for a window (the last interval or everything), a thread (or all), a sort and a
// filter; its header's figures; and the same table as plain text (piped output, --once).
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

#include "pyfold/top/live_counts.hpp"

namespace pyfold::top {

enum class SortBy { own, total, name };
constexpr std::uint32_t kAllThreads = UINT32_MAX;  // (a thread's root may be frame id 0)
enum class Window { all, last };  // everything since the start, or the last interval

// What the user chose to see.
struct ViewState {
  SortBy sort = SortBy::own;
  Window window = Window::all;
  std::uint32_t thread = kAllThreads;  // or a thread's root frame id
  bool paused = false;
  std::string filter_text;          // `/`: a regular expression rows' names must match ("" none)
  std::optional<std::regex> filter;
};

// What was sampled, for the header.
struct Sampled {
  std::string mode = "wall";
  double rate = 1000;          // asked for
  bool subprocesses = false;   // a PID column
  bool lines = false;          // rows are lines, not functions
};

struct Row {
  std::string name;  // `func (file)`, or `func (file:line)` with --lines
  pid_t pid = 0;
  std::uint64_t own = 0, total = 0;
  double own_share = 0, total_share = 0;      // of the stacks in view
  double own_seconds = 0, total_seconds = 0;  // the samples' time (each sample is seconds/samples long)
};

struct Table {
  // The header: the process, its Python, the mode and rate, the window's samples, threads and pyfold's CPU.
  pid_t pid = 0;
  std::string command, python_version;
  std::string mode;
  double rate = 0, rate_achieved = 0;
  std::uint64_t samples = 0, not_recorded = 0, stacks = 0;
  std::size_t threads = 0, processes = 0;
  double seconds = 0;     // the window's length
  double pyfold_cpu = 0;  // pyfold's CPU time over the window's wall time (sampling, counting and drawing)
  std::string window, thread;  // "since the start" / "last interval"; "all threads" or the thread's name
  bool subprocesses = false, lines = false;
  std::vector<Row> rows;   // sorted, filtered
};

struct ThreadChoice {
  std::uint32_t root = kAllThreads;  // or a thread's root frame id
  std::string name;        // `thread (TID): NAME`
  pid_t pid = 0;
  double share = 0;        // of the stacks since the start
};

class TopModel {
 public:
  // cpu_seconds: pyfold's CPU time before sampling started.
  TopModel(Sampled sampled, double cpu_seconds) : sampled_(std::move(sampled)), start_cpu_(cpu_seconds) {}
  // One interval from the sink; cpu_seconds: pyfold's CPU time so far, now: the monotonic clock.
  void update(Taken&& taken, double cpu_seconds, double now);
  Table table(const ViewState& view) const;
  std::vector<ThreadChoice> threads() const;  // all threads first, then by share
  bool has_interval() const { return intervals_ > 0; }
  std::uint64_t stacks_since_start() const { return all_.stacks; }

 private:
  struct Figures {
    std::uint64_t samples = 0, not_recorded = 0;
    double seconds = 0, cpu = 0, wall = 0;
  };
  Sampled sampled_;
  double start_cpu_;
  std::unordered_map<std::uint32_t, std::string> texts_;
  std::unordered_map<std::uint32_t, pid_t> thread_pids_;
  std::map<pid_t, std::string> processes_;  // PID -> Python version
  Counts all_, last_;
  Figures start_, before_, now_;  // at the start, at the last interval's start, now
  std::uint64_t intervals_ = 0;
};

// The table as text: a header line of `key=value` figures, a line of column names, one row a line, columns
// separated by tabs (the name last); every table ends with an empty line.
std::string plain_table(const Table& table);

// The name of a row from a frame's text: `func (file)` by function (line dropped), the text itself with --lines.
std::string row_name(const std::string& frame_text, bool lines);

}  // namespace pyfold::top
