// pyfold record --method inprocess: Python runs our bootstrap, which samples inside the program and streams folded
// lines over a pipe (fd 3 in the program); here they are counted and written like the remote method's.
#include "pyfold/record/inprocess/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "inprocess_bootstrap.hpp"
#include "pyfold/folded.hpp"
#include "pyfold/frame_text.hpp"
#include "pyfold/io.hpp"
#include "pyfold/record/stack_counter.hpp"
#include "pyfold/record/run_control.hpp"

namespace pyfold::record {

namespace {

constexpr int kSampleFd = 3;  // where the bootstrap writes, as PYFOLD_INPROCESS says
constexpr int kAgentFd = 4;   // the native sampler's library, which the bootstrap loads from /proc/self/fd/4

// libpyfold-agent.so, built with pyfold and carried in it (src/agent/embed_agent.py); empty in sanitizer and
// fuzzer builds.
extern "C" const unsigned char pyfold_agent_so[], pyfold_agent_so_end[];

bool has_agent() { return pyfold_agent_so_end - pyfold_agent_so > 0; }

// The agent library in a memory file for the program to load; -1 when there is none (then the bootstrap samples
// from Python's signal handler).
int agent_file() {
  if (!has_agent()) return -1;
  int fd = static_cast<int>(memfd_create("libpyfold-agent.so", MFD_CLOEXEC));
  if (fd < 0) return -1;
  const std::size_t size = static_cast<std::size_t>(pyfold_agent_so_end - pyfold_agent_so);
  for (std::size_t done = 0; done < size;) {
    ssize_t n = write(fd, pyfold_agent_so + done, size - done);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    done += static_cast<std::size_t>(n);
  }
  // Above the numbers the program is given, so that passing the pipe as fd 3 cannot close it.
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  return high;
}

// The bootstrap's settings (PYFOLD_INPROCESS): where to write, the sampling settings it hands on unchanged to the
// native sampler (sampling.hpp writes and reads them), what --async asks of it, and the agent's file.
std::string bootstrap_settings(const RecordOptions& o, bool agent) {
  return "fd=" + std::to_string(kSampleFd) + ";" + sampling_settings_text(sampling_settings(o)) +
         ";async=" + (o.async == AsyncSampling::all ? "all" : o.async == AsyncSampling::running ? "running" : "off") +
         (agent ? ";agent=/proc/self/fd/" + std::to_string(kAgentFd) : std::string());
}

// What the bootstrap says about its sampling, on its last line: `#pyfold ticks=N startup=N errors=N started=0|1`
// (the native sampler adds `live=N native=1`; live: reads kept although the GIL's thread ran during them); before
// it, `#pyfold-not-recorded COUNT REASON` lines; `#pyfold-note TEXT` at any time. On its way, for the live figures:
// `#pyfold-start monotonic=SECONDS` when sampling started, then `#pyfold-progress ticks=N not_recorded=N startup=N
// [kept_us=N]` after the stacks of the ticks it counts (kept_us: when the first sample past the start-up was kept,
// since the start).
struct SamplerTotals {
  std::uint64_t ticks = 0, startup = 0, errors = 0, live = 0;
  std::uint64_t reads = 0, retries = 0, sampling_us = 0, late = 0, lateness_sum_us = 0, lateness_max_us = 0;
  bool started = false, seen = false, native = false;
  std::map<std::string, std::uint64_t> not_recorded;
  std::vector<std::string> notes;
};

// The sampler's figures so far: ticks, not recorded, and when it started (CLOCK_MONOTONIC, as pyfold's clock).
struct SamplerProgress {
  bool started = false;
  double start = 0;
  std::uint64_t ticks = 0, not_recorded = 0, startup = 0;
  double first_kept = -1;  // seconds since start
};

// Folded lines from the pipe, possibly cut anywhere, into the profile. A thread's root frame
// (`thread (TID): NAME`) becomes one root a thread, named with the last name the sampler gave it.
class SamplerStreamParser {
 public:
  explicit SamplerStreamParser(ProfileWriter& writer) : writer_(writer), counter_(writer.counter()) {}
  void feed(const char* data, std::size_t n) {
    pending_.append(data, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
      add_line(std::string_view(pending_).substr(start, nl - start));
    pending_.erase(0, start);
  }
  std::uint64_t lines() const { return lines_; }
  std::uint64_t malformed() const { return malformed_; }
  const SamplerTotals& totals() const { return totals_; }
  const SamplerProgress& progress() const { return progress_; }

 private:
  void add_line(std::string_view line) {
    if (line.rfind("#pyfold ", 0) == 0) {
      read_totals(line.substr(8));
      progress_.ticks = totals_.ticks;
      progress_.startup = totals_.startup;
      return;
    }
    if (line.rfind("#pyfold-progress ", 0) == 0) {
      read_fields(line.substr(17), [&](std::string_view name, std::string_view value) {
        if (name == "ticks") progress_.ticks = std::strtoull(std::string(value).c_str(), nullptr, 10);
        else if (name == "not_recorded") progress_.not_recorded = std::strtoull(std::string(value).c_str(), nullptr, 10);
        else if (name == "startup") progress_.startup = std::strtoull(std::string(value).c_str(), nullptr, 10);
        else if (name == "kept_us") progress_.first_kept = 1e-6 * std::strtod(std::string(value).c_str(), nullptr);
      });
      return;
    }
    if (line.rfind("#pyfold-start ", 0) == 0) {
      read_fields(line.substr(14), [&](std::string_view name, std::string_view value) {
        if (name != "monotonic") return;
        progress_.start = std::strtod(std::string(value).c_str(), nullptr);
        progress_.started = true;
      });
      return;
    }
    if (line.rfind("#pyfold-note ", 0) == 0) {
      totals_.notes.emplace_back(line.substr(13));
      return;
    }
    if (line.rfind("#pyfold-not-recorded ", 0) == 0) {
      std::string_view rest = line.substr(21);
      auto space = rest.find(' ');
      std::uint64_t count = std::strtoull(std::string(rest.substr(0, space)).c_str(), nullptr, 10);
      if (space != std::string_view::npos && count) totals_.not_recorded[std::string(rest.substr(space + 1))] += count;
      return;
    }
    FoldedLine parsed;
    std::string_view reason;
    if (parse_folded_line(line, parsed, reason, Counts::one) != LineStatus::stack || !(parsed.count >= 1) ||
        parsed.count != std::floor(parsed.count)) {
      ++malformed_;
      return;
    }
    auto count = static_cast<std::uint64_t>(parsed.count);
    stack_.clear();
    std::string_view frames = parsed.stack;
    for (std::size_t pos = 0;;) {
      std::size_t semi = frames.find(';', pos);
      std::string_view frame = frames.substr(pos, semi == std::string_view::npos ? semi : semi - pos);
      stack_.push_back(pos == 0 ? root_id(frame) : counter_.intern(frame));
      if (semi == std::string_view::npos) break;
      pos = semi + 1;
    }
    writer_.add(stack_, count);
    ++lines_;
  }

  std::uint32_t root_id(std::string_view frame) {
    // `thread (TID): NAME`, or `thread (TID)` when the thread has no name
    if (!is_thread_frame(frame)) return counter_.intern(frame);
    std::size_t close = frame.find(')');
    std::string label(frame.substr(0, close + 1));
    std::uint32_t root = writer_.thread_root(0, std::strtoull(label.c_str() + 8, nullptr, 0), label);
    if (close + 1 < frame.size()) writer_.name_thread(root, std::string(frame.substr(close + 3)), true);
    return root;
  }

  // `name=value name=value ...`
  template <class Field>
  static void read_fields(std::string_view fields, Field field_read) {
    for (std::size_t pos = 0; pos < fields.size();) {
      std::size_t space = fields.find(' ', pos);
      std::string_view field = fields.substr(pos, space == std::string_view::npos ? space : space - pos);
      auto eq = field.find('=');
      if (eq != std::string_view::npos) field_read(field.substr(0, eq), field.substr(eq + 1));
      if (space == std::string_view::npos) break;
      pos = space + 1;
    }
  }

  void read_totals(std::string_view fields) {
    totals_.seen = true;
    read_fields(fields, [&](std::string_view name, std::string_view text) {
      std::uint64_t value = std::strtoull(std::string(text).c_str(), nullptr, 10);
      if (name == "ticks") totals_.ticks = value;
      else if (name == "startup") totals_.startup = value;
      else if (name == "errors") totals_.errors = value;
      else if (name == "started") totals_.started = value != 0;
      else if (name == "live") totals_.live = value;
      else if (name == "native") totals_.native = value != 0;
      else if (name == "reads") totals_.reads = value;
      else if (name == "retries") totals_.retries = value;
      else if (name == "sampling_us") totals_.sampling_us = value;
      else if (name == "late") totals_.late = value;
      else if (name == "lateness_sum_us") totals_.lateness_sum_us = value;
      else if (name == "lateness_max_us") totals_.lateness_max_us = value;
    });
  }

  ProfileWriter& writer_;
  StackCounter& counter_;
  std::string pending_;
  std::vector<std::uint32_t> stack_;
  std::uint64_t lines_ = 0, malformed_ = 0;
  SamplerTotals totals_;
  SamplerProgress progress_;
};

}  // namespace

void check_inprocess(const RecordOptions& options, const RecordTarget& target) {
  if (target.pid) throw std::invalid_argument("--pid attaches from outside: it has no in-process method");
  if (!target.python_program)
    throw std::invalid_argument("the in-process method starts Python itself: give script.py or -m MODULE, "
                                "not -- COMMAND");
  if (options.subprocesses) throw std::invalid_argument("--subprocesses needs the remote method");
  if (options.blocking) throw std::invalid_argument("--blocking needs the remote method");
  if (options.nonblocking) throw std::invalid_argument("--nonblocking needs the remote method");
  if (options.check_reads) throw std::invalid_argument("--check-reads needs the remote method");
  if (options.mode == SampleMode::gil && (options.async != AsyncSampling::off || !has_agent()))
    throw std::invalid_argument("--mode gil with the in-process method needs its native sampler" +
                                std::string(options.async != AsyncSampling::off
                                                ? ", which does not read --async"
                                                : ": this pyfold has none (a sanitizer build)"));
}

namespace {

// The program started under the bootstrap: the end of the pipe its samples come from, and when it was started.
struct Bootstrapped {
  std::unique_ptr<LaunchedProgram> program;
  int samples_fd = -1;
  double start = 0;
};

Bootstrapped launch_bootstrapped(const RecordOptions& options, const RecordTarget& target, int program_output_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
  // --async is read by the bootstrap in Python (the tasks are Python objects); otherwise the native sampler.
  const int agent = options.async == AsyncSampling::off ? agent_file() : -1;
  if (agent < 0 && options.mode == SampleMode::gil) {
    close(fds[0]), close(fds[1]);
    throw IoError("--mode gil with the in-process method needs its native sampler: no memory file for it");
  }
  std::vector<std::string> args = {target.command[0], "-c", kInprocessBootstrap};
  args.insert(args.end(), target.command.begin() + 1, target.command.end());
  LaunchSetup setup;
  setup.stdout_to_stderr = options.output.empty() || options.output == "-";
  setup.pass_fds = {{fds[1], kSampleFd}};
  setup.output_to(program_output_fd);
  if (agent >= 0) setup.pass_fds.push_back({agent, kAgentFd});
  setup.environment = {{"PYFOLD_INPROCESS", bootstrap_settings(options, agent >= 0)}};

  Bootstrapped b;
  b.start = monotonic_seconds();
  try {
    b.program = std::make_unique<LaunchedProgram>(args, setup);
  } catch (...) {
    close(fds[0]), close(fds[1]);
    if (agent >= 0) close(agent);
    throw;
  }
  close(fds[1]);
  if (agent >= 0) close(agent);
  b.samples_fd = fds[0];
  return b;
}

// The live figures (pyfold record's progress, pyfold top's header): the sampler's ticks, not the stack lines (one a
// thread), and the seconds since it started, not since the launch (a Python slow to start did not miss samples).
// launched: when the program was started; the sampler's clock is trusted between that and now.
RecordProgress sampler_figures(const SamplerProgress& p, double launched, double now) {
  const double start = std::min(std::max(p.start, launched), now);
  return {p.ticks, p.not_recorded, now - start, p.startup, p.first_kept};
}

// Counts the sampler's lines into the profile until the program ends (stopping it at --duration or a signal);
// true when recording asked it to stop.
bool read_samples(int fd, LaunchedProgram& program, ProfileWriter& writer, SamplerStreamParser& lines,
                  const RecordOptions& options, RecordReport& report, const ProgressCallback& progress,
                  double start) {
  const double end = options.duration > 0 ? start + options.duration : INFINITY;
  bool stop_requested = false;
  double next_progress = start + writer.figures_interval();
  char buffer[1 << 16];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, 50);
    double now = monotonic_seconds();
    writer.rotate_if_due(now);  // before this read's lines: they were sampled after the boundary passed
    if (ready > 0) {
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n > 0) lines.feed(buffer, static_cast<std::size_t>(n));
      if (n == 0) break;  // every writer is gone: the program ended
      if (n < 0 && errno != EINTR && errno != EAGAIN) break;
    }
    program.poll();
    // The program has exited but a child of its may hold the pipe open: take what is there and stop.
    if (program.exited() && ready <= 0 && poll(&p, 1, 0) <= 0) break;
    if (!stop_requested && !program.exited()) {
      if (now >= end) {
        stop_requested = true;
        report.program = RecordReport::Program::stopped;
        program.request_stop(StopCause::duration);
      } else if (g_signal) {
        stop_requested = true;
        program.request_stop(g_signal == SIGTERM ? StopCause::sigterm : StopCause::sigint);
      }
    }
    if (now >= next_progress && lines.progress().started) {
      const RecordProgress figures = sampler_figures(lines.progress(), start, now);
      writer.figures(figures);
      if (progress) progress(figures);
      next_progress = now + writer.figures_interval();
    }
  }
  // The last figures: every tick of the stacks counted
  if (lines.progress().started) writer.figures(sampler_figures(lines.progress(), start, monotonic_seconds()));
  return stop_requested;
}

// The sampler's totals: samples, start-up, not recorded.
void count_totals(const SamplerStreamParser& lines, RecordReport& report) {
  const SamplerTotals& totals = lines.totals();
  report.samples = totals.seen ? totals.ticks : lines.lines();
  report.startup = totals.startup;
  std::uint64_t not_recorded = totals.errors;
  for (const auto& [reason, count] : totals.not_recorded) report.not_recorded[reason] += count, not_recorded += count;
  report.recorded = report.samples - std::min(report.samples, totals.startup + not_recorded);
  if (totals.errors) report.not_recorded["the in-process sampler failed"] = totals.errors;
}

// What the sampler said about itself: the native sampler's figures, its notes, the lines it sent.
void add_sampler_notes(const SamplerStreamParser& lines, RecordReport& report) {
  const SamplerTotals& totals = lines.totals();
  if (totals.native) {
    report.notes.push_back("read by pyfold's native sampler inside the program");
    report.reads = totals.reads, report.retries = totals.retries, report.late = totals.late;
    report.sampling_seconds = 1e-6 * static_cast<double>(totals.sampling_us);
    report.lateness_max = 1e-6 * static_cast<double>(totals.lateness_max_us);
    report.lateness_mean =
        totals.ticks ? 1e-6 * static_cast<double>(totals.lateness_sum_us) / static_cast<double>(totals.ticks) : 0;
  }
  report.notes.insert(report.notes.end(), totals.notes.begin(), totals.notes.end());
  if (totals.live)
    report.notes.push_back(std::to_string(totals.live) +
                           " samples read while the GIL's thread was running on another CPU (read at the tick all the same)");
  report.notes.push_back(std::to_string(lines.lines()) + " stack lines from the in-process sampler");
  if (lines.malformed())
    report.notes.push_back(std::to_string(lines.malformed()) +
                           " malformed lines from the in-process sampler were skipped");
}

}  // namespace

RecordReport record_inprocess(const RecordOptions& options, const RecordTarget& target,
                              const ProgressCallback& progress, const LiveView* live) {
  RecordReport report;
  report.method = "in-process";
  ProfileWriter writer(options.output, options.timeline, options.rotate);
  writer.show_live(live ? live->sink : nullptr);
  writer.check_output();  // fail before launching anything
  SignalGuard guard;
  Bootstrapped launched = launch_bootstrapped(options, target, live ? live->program_output_fd : -1);
  LaunchedProgram& program = *launched.program;
  writer.process(program.pid(), "");  // (the version is the sampler's to know)
  const double start = launched.start;
  report.program = RecordReport::Program::exited;
  report.command = program_name(target);
  writer.set_output(profile_output(options, program.pid()));  // --format, --on-rotate
  writer.start(start);

  SamplerStreamParser lines(writer);
  const bool stop_requested =
      read_samples(launched.samples_fd, program, writer, lines, options, report, progress, start);
  close(launched.samples_fd);
  const double stopped = monotonic_seconds();
  // The program and whatever it left running end (the ending began at the stop; a program that exited by itself may
  // have left processes).
  program.end(!stop_requested                                     ? StopCause::exited
              : report.program == RecordReport::Program::stopped ? StopCause::duration
              : g_signal == SIGTERM                              ? StopCause::sigterm
                                                                 : StopCause::sigint);
  report.exit_code = program.exit_code();
  report.elapsed = stopped - start;
  count_totals(lines, report);
  const SamplerTotals& totals = lines.totals();
  // The sampler says the target never got to its first line, or Python failed before the sampler ran.
  const bool never_started = totals.seen ? !totals.started : lines.lines() == 0;
  if (never_started && !stop_requested && report.exit_code != 0) {
    report.program = RecordReport::Program::ended_before_first_line;  // nothing of the program to show
    return report;
  }
  writer.finish(stopped, signalled_from_now());
  report.files = writer.files();
  report.notes.insert(report.notes.end(), writer.handoff_notes().begin(), writer.handoff_notes().end());
  report.stack_count = writer.total();
  report.top_self = writer.top_self(5);
  add_sampler_notes(lines, report);
  return report;
}

}  // namespace pyfold::record
