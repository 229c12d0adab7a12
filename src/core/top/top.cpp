// pyfold top: the recording (pyfold record's core, on this thread) and the view (on its own thread): the view takes
// what the sink counted each interval and draws it, or prints it as a table; q asks the recording to end as
// SIGTERM does, so a launched program is ended by run_control's one way of ending it.
#include "pyfold/top/top.hpp"

#include <curses.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "pyfold/io.hpp"
#include "pyfold/record/run_control.hpp"
#include "pyfold/top/live_counts.hpp"
#include "pyfold/top/top_screen.hpp"

namespace pyfold::top {

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

ViewState initial_view(const TopOptions& o) {
  ViewState v;
  v.sort = o.sort == "total" ? SortBy::total : o.sort == "name" ? SortBy::name : SortBy::own;
  v.window = o.window == "last" ? Window::last : Window::all;
  return v;
}

Sampled sampled_of(const record::RecordOptions& o, const TopOptions& t) {
  Sampled s;
  s.mode = o.mode == record::SampleMode::wall ? "wall" : o.mode == record::SampleMode::cpu ? "cpu" : "gil";
  s.rate = o.rate;
  s.subprocesses = o.subprocesses;
  s.lines = t.lines;
  return s;
}

// The view's side: the model, the user's choices, and how the recording is told to end.
class View {
 public:
  View(LiveCounts& counts, const TopCommandLine& cli, bool screen)
      : counts_(counts), options_(cli.top), screen_(screen), model_(sampled_of(cli.record.options, cli.top), cpu_seconds()),
        view_(initial_view(cli.top)) {}

  // The view's thread, until the recording has ended (recording_done) or the user quit.
  void run() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // the recording's thread takes them (they end its sleeps)
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);  // ncurses' resize handler, here
    try {
      if (screen_) run_screen();
      else run_plain();
    } catch (...) {
      error_ = std::current_exception();
      end_recording();
    }
  }

  void recording_ended() {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    ended_.notify_all();
  }
  bool user_quit() const { return quit_; }
  std::exception_ptr error() const { return error_; }

 private:
  bool done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  // Waits up to seconds; true once the recording has ended.
  bool wait_done(double seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    return ended_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return done_; });
  }

  void take() { model_.update(counts_.take(), cpu_seconds(), record::monotonic_seconds()); }

  // q (or --once's table, or an error): the recording is ended as SIGTERM ends it (the launched program too).
  void end_recording() {
    quit_ = true;
    kill(getpid(), SIGTERM);  // (run_top's guard catches it, whenever it comes)
    std::unique_lock<std::mutex> lock(mutex_);
    ended_.wait(lock, [&] { return done_; });
  }

  // Waits for the first figures (a Python slow to start, a program not yet Python); the first interval's end, or
  // -1 when the recording ended first.
  double first_interval_end() {
    for (;;) {
      const double started = counts_.sampling_started();
      if (started >= 0) return started + options_.interval;
      if (wait_done(0.01)) return -1;
    }
  }

  void run_plain() {
    double next = first_interval_end();  // every table (--once's too) a whole interval from the first sample
    if (next < 0) {  // nothing sampled: the one table, empty
      take();
      return print_table();
    }
    for (;;) {
      const bool ended = wait_done(std::max(0.0, next - record::monotonic_seconds()));
      take();
      next += options_.interval;
      // The last table: what came since the one before (a program that ended within the interval).
      if (!ended || model_.stacks_since_start() > printed_stacks_ || printed_ == 0) print_table();
      if (ended) return;
      if (options_.once) return end_recording();
    }
  }

  void print_table() {
    std::fputs(plain_table(model_.table(view_)).c_str(), stdout);
    std::fflush(stdout);
    printed_stacks_ = model_.stacks_since_start();
    ++printed_;
  }

  void run_screen() {
    TopScreen screen;
    set_escdelay(25);
    double next = -1;  // the next refresh: an interval after the first sample, then every interval
    bool dirty = true;
    while (!done()) {
      if (next < 0 && counts_.sampling_started() >= 0) next = counts_.sampling_started() + options_.interval;
      if (dirty) screen.draw(model_.table(view_), view_, overlay_);
      dirty = false;
      const int key = screen.key(50);
      if (key != ERR) dirty = true;
      if (key != ERR && !handle_key(key)) {
        screen.close();  // the terminal is given back at once; the program's end may take a moment
        return end_recording();
      }
      if (next >= 0 && record::monotonic_seconds() >= next) {
        next += options_.interval;
        if (!view_.paused) take(), dirty = true;  // (paused: the sink keeps counting; taken on resuming)
        if (next < record::monotonic_seconds()) next = record::monotonic_seconds() + options_.interval;
      }
    }
  }

  // False: quit.
  bool handle_key(int key) {
    overlay_.message.clear();
    if (overlay_.typing_filter) return type_filter(key), true;
    if (overlay_.threads) return pick_thread(key), true;
    switch (key) {
      case 'q': case 'Q': return false;
      case 'o': view_.sort = SortBy::own; break;
      case 'i': view_.sort = SortBy::total; break;
      case 'n': view_.sort = SortBy::name; break;
      case 'w': view_.window = view_.window == Window::all ? Window::last : Window::all; break;
      case 'p': case ' ': view_.paused = !view_.paused; break;
      case 't':
        threads_ = model_.threads();
        overlay_.threads = &threads_;
        overlay_.picked = 0;
        for (std::size_t i = 0; i < threads_.size(); ++i)
          if (threads_[i].root == view_.thread) overlay_.picked = i;
        break;
      case '/':
        overlay_.typing_filter = true;
        overlay_.typed.clear();  // (an empty one clears the filter)
        break;
      default: break;  // KEY_RESIZE and the rest: drawn again
    }
    return true;
  }

  void pick_thread(int key) {
    if (key == KEY_UP || key == 'k') {
      if (overlay_.picked > 0) --overlay_.picked;
    } else if (key == KEY_DOWN || key == 'j') {
      if (overlay_.picked + 1 < threads_.size()) ++overlay_.picked;
    } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
      view_.thread = threads_[overlay_.picked].root;
      overlay_.threads = nullptr;
    } else if (key == 27 || key == 't' || key == 'q') {
      overlay_.threads = nullptr;
    }
  }

  void type_filter(int key) {
    if (key == 27) {
      overlay_.typing_filter = false;
    } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
      overlay_.typing_filter = false;
      if (overlay_.typed.empty()) {
        view_.filter.reset();
        view_.filter_text.clear();
        return;
      }
      try {
        view_.filter = std::regex(overlay_.typed);
        view_.filter_text = overlay_.typed;
      } catch (const std::regex_error& e) {
        overlay_.message = "not a regular expression: /" + overlay_.typed + "/ (" + e.what() + ")";
      }
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
      if (!overlay_.typed.empty()) overlay_.typed.pop_back();
    } else if (key >= 32 && key < 127) {
      overlay_.typed.push_back(static_cast<char>(key));
    }
  }

  LiveCounts& counts_;
  const TopOptions& options_;
  bool screen_;
  TopModel model_;
  ViewState view_;
  Overlay overlay_;
  std::vector<ThreadChoice> threads_;
  std::uint64_t printed_stacks_ = 0, printed_ = 0;
  std::mutex mutex_;
  std::condition_variable ended_;
  bool done_ = false;
  std::atomic<bool> quit_{false};
  std::exception_ptr error_;
};

// Where a launched program's output goes under the full-screen view: --program-output, or /dev/null.
int open_program_output(const std::string& path) {
  const std::string name = path.empty() ? "/dev/null" : path;
  int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot open --program-output " + name + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

int run_top(const TopCommandLine& cli) {
  // From the start: a SIGTERM or Ctrl-C during start-up still ends the launched program and gives the terminal
  // back (record()'s own guards nest in this one and keep what it caught); q's SIGTERM comes here too.
  record::SignalGuard guard;
  const record::RecordCommandLine& rec = cli.record;
  // Options that do not go together are a usage error before anything is drawn or printed; the method chosen once
  // (--method auto probes the machine, --async asks the interpreter its version).
  record::RecordOptions options = rec.options;
  options.method = record::choose_method(options, rec.target).inprocess ? record::RecordMethod::inprocess
                                                                         : record::RecordMethod::remote;
  if (record::g_signal) return 0;  // SIGTERM or Ctrl-C meanwhile: nothing is started, nothing drawn
  const bool screen = !cli.top.once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
  LiveCounts counts(rec.options.subprocesses);
  record::LiveView live;
  live.sink = &counts;
  if (!rec.target.command.empty() && (screen || !cli.top.program_output.empty()))
    live.program_output_fd = open_program_output(cli.top.program_output);
  sigset_t winch, old;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  pthread_sigmask(SIG_BLOCK, &winch, &old);  // resizes go to the view's thread
  View view(counts, cli, screen);
  std::thread view_thread([&] { view.run(); });
  record::RecordReport report;
  std::exception_ptr error;
  try {
    report = record::record(options, rec.target, {}, &live);
  } catch (...) {
    error = std::current_exception();
  }
  const bool signalled = record::g_signal != 0;
  view.recording_ended();
  view_thread.join();  // the terminal is given back
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (live.program_output_fd >= 0) close(live.program_output_fd);
  if (error) std::rethrow_exception(error);
  if (view.error()) std::rethrow_exception(view.error());
  const std::string problem = record::problem_text(report);
  if (!problem.empty()) std::fprintf(stderr, "pyfold-top: %s\n", problem.c_str());
  if (view.user_quit() || signalled) return 0;
  if (report.program == record::RecordReport::Program::attached)
    std::fprintf(stderr, "pyfold-top: PID %d has ended\n", static_cast<int>(rec.target.pid));
  else if (screen)
    std::fprintf(stderr, "pyfold-top: %s ended (exit code %d)\n", report.command.c_str(), report.exit_code);
  return record::record_exit_code(report);
}

}  // namespace pyfold::top
