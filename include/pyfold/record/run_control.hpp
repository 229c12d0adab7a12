#pragma once
#include <functional>
// What both recording methods (remote, in-process) share to run a program: SIGINT/SIGTERM end recording instead of
// killing pyfold, and the one module that launches the program, waits for it to be Python, forwards signals,
// stops it at --duration and reaps it.
#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pyfold::record {

class PythonProcess;

// The last SIGINT/SIGTERM received while a SignalGuard was alive; 0 for none.
extern volatile sig_atomic_t g_signal;
extern volatile sig_atomic_t g_signal_count;  // how many were received
// True once another signal has come since this call (a second Ctrl-C ends a wait).
std::function<bool()> signalled_from_now();

class SignalGuard {
 public:
  SignalGuard();  // installs the handlers (no SA_RESTART: sleeps and reads wake up) and clears g_signal
  ~SignalGuard();  // restores the previous ones
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// How the program is started.
struct LaunchSetup {
  bool stdout_to_stderr = false;  // pyfold's standard output carries the folded stacks
  std::vector<std::pair<int, int>> pass_fds;  // (fd, as_fd): fd is the program's as_fd (not closed on exec)
  std::vector<std::pair<std::string, std::string>> environment;  // added to pyfold's

  // The program's stdout and stderr both go to fd (pyfold top's view owns the terminal); -1 leaves them.
  void output_to(int fd) {
    if (fd < 0) return;
    stdout_to_stderr = false;
    pass_fds.push_back({fd, 1});
    pass_fds.push_back({fd, 2});
  }
};

// Why recording stopped while the program still runs.
enum class StopCause { duration, sigterm, sigint };

// A program pyfold started (PATH searched, in pyfold's process group so that Ctrl-C reaches both). It gets
// PR_SET_PDEATHSIG(SIGKILL) before exec, so it dies with pyfold even when pyfold is SIGKILLed; a process attached
// with --pid never does: it is not ours to end. Never left behind: the destructor kills and reaps a program still
// running (an exception on the way out).
class LaunchedProgram {
 public:
  // Throws IoError when the command cannot be started.
  LaunchedProgram(const std::vector<std::string>& command, const LaunchSetup& setup);
  ~LaunchedProgram();
  LaunchedProgram(const LaunchedProgram&) = delete;
  LaunchedProgram& operator=(const LaunchedProgram&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the program without blocking, and sends a SIGINT that request_stop() delayed once it is due. True once
  // it has exited.
  bool poll();
  void reaped(int wait_status);  // another waitpid (--blocking's) reaped it
  bool exited() const { return exited_; }
  int exit_code() const;  // as a shell reports it: the exit code, or 128+signal
  // Recording stopped while the program runs: --duration and SIGTERM end it with SIGTERM now; after Ctrl-C (which
  // the terminal sent to the program too) it has a second to finish before it gets SIGINT.
  void request_stop(StopCause cause);
  // Waits until the program has exited, forwarding SIGINT/SIGTERM that pyfold receives meanwhile.
  void wait();

 private:
  pid_t pid_ = 0;
  bool exited_ = false;
  int status_ = 0;
  double sigint_at_ = 0;
};

// Polls the launched program until it or one of its descendants is an initialised CPython, and returns that one
// attached; nullptr when the program exited first or recording was interrupted. Refusals that come and go while a
// process of the family execs or exits (a pyenv shim runs several short commands, then execs Python) are retried
// for a bounded time; one that lasts is thrown (AttachError).
std::unique_ptr<PythonProcess> wait_for_python(LaunchedProgram& program);

}  // namespace pyfold::record
