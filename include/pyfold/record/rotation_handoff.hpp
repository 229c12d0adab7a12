#pragma once
// pyfold record --on-rotate: each finished profile file (closed and renamed into place) is handed to the user's
// command, run through /bin/sh beside the sampling: one command at a time, files in the order written, later
// files waiting in a bounded queue. pyfold is no uploader: the command is (curl to Grafana Pyroscope's /ingest,
// profilecli upload, parca-push, a copy).
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pyfold/record/pprof_profile.hpp"

namespace pyfold::record {


// --on-rotate and its companions; each default stated here once (--help shows them).
struct HandoffOptions {
  std::string command;        // --on-rotate: the command template; "" for none
  bool delete_after = false;  // --on-rotate-delete: remove a file once its command exited with 0
  std::size_t queue = 16;     // --on-rotate-queue: files that may wait while a command runs; more are not handed on
  double wait = 60;           // --on-rotate-wait: seconds the end of a recording waits for the queue
};

// A finished profile file and the values of its placeholders.
struct FinishedProfile {
  std::string file;           // {file}: as named by -o
  double start = 0, end = 0;  // {start}, {end}: its interval, Unix seconds (written whole, rounded down)
  std::string time;           // {time}: the start, UTC, as in the file name (20261128T064500Z)
  std::uint64_t n = 0;        // {n}: the interval's number from 0
  pid_t pid = 0;              // {pid}: the process recorded (--pid) or launched
  double rate = 0;            // {rate}: samples per second (--rate)
};

// How pyfold record writes each profile and whom it hands it to: its options and the recording's facts.
struct ProfileOutput {
  ProfileFormat format = ProfileFormat::folded;
  HandoffOptions handoff;
  PprofProfileInfo pprof;  // the period's sample type and rate; the times are each file's
  pid_t pid = 0;
};

// value as one shell word: as it is when it holds only characters no shell treats specially, else in '...'.
std::string shell_quote(std::string_view value);
// The command with each {file} {start} {end} {time} {n} {pid} {rate} replaced by its value, quoted for where the
// placeholder stands (outside quotes, inside '...', inside "...", inside $(...)), so that any value stays one word
// and nothing in it runs. Other braces are left as written.
std::string expand_command(std::string_view command_template, const FinishedProfile& profile);
// Why the template cannot be used as a command ("" when it can): a quote left open, an unknown {placeholder}.
std::string command_template_problem(std::string_view command_template);

// What the hand-off did, for the summary.
struct HandoffTotals {
  std::uint64_t handed = 0;     // files given to hand_on
  std::uint64_t succeeded = 0;  // commands that exited with 0
  std::uint64_t failed = 0;     // commands that exited otherwise, or could not start (their files kept)
  std::uint64_t deleted = 0;    // files removed after success (--on-rotate-delete)
  std::uint64_t overflowed = 0; // files not handed on: the queue was full
  std::uint64_t left = 0;       // files whose command had not run (or was stopped) when the wait ended
  std::string text() const;     // one line for the summary
};

// The runner: a thread that takes finished files in order and runs the command for each, in its own process
// group (Ctrl-C at the terminal does not cut an upload short), stdin /dev/null, its output kept for a failure's
// report. hand_on never waits for a command.
class ProfileHandoff {
 public:
  // A line for the user (a failure, an overflow), without the program's name or newline; standard error
  // ("pyfold-record: LINE") when none is given. Called from the runner's thread.
  using Report = std::function<void(const std::string& line)>;
  explicit ProfileHandoff(HandoffOptions options, Report report = {});
  ~ProfileHandoff();  // finish() if not called
  ProfileHandoff(const ProfileHandoff&) = delete;
  ProfileHandoff& operator=(const ProfileHandoff&) = delete;

  // Queues the file's command; with the queue full, reports and keeps the file without running it.
  void hand_on(FinishedProfile profile);
  // The end of the recording: waits until every queued command ran, at most options.wait seconds or until
  // give_up() says so (polled); then a command still running is stopped (SIGTERM, SIGKILL a second later), the
  // files never handed on are reported (and kept), and the runner ends. Idempotent.
  HandoffTotals finish(const std::function<bool()>& give_up = {});

 private:
  void run();
  void run_one(const FinishedProfile& profile);
  void count_failure();
  void stop_running_command();

  HandoffOptions options_;
  Report report_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<FinishedProfile> queue_;
  bool busy_ = false, closing_ = false, finished_ = false;
  pid_t running_ = 0;       // the command's process (and group), while it runs
  bool stopping_ = false;   // finish() is stopping it: not a failure of the command's own
  HandoffTotals totals_;
  std::thread runner_;
};

}  // namespace pyfold::record
