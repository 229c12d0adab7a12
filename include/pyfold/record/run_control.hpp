#pragma once
#include <functional>
// What both recording methods (remote, in-process) share to run a program: SIGINT/SIGTERM end recording instead of
// killing pyfold, and the one module that launches the program, waits for it to be Python, forwards signals, and
// ends it and everything it started.
#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <stdexcept>
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

// Guards nest (pyfold top's around record()'s, record()'s around its method's): an inner one keeps what the outer
// one caught, and gives back the outer one's handlers. Main thread only.
class SignalGuard {
 public:
  // Installs the handlers (no SA_RESTART: sleeps and reads wake up); the outermost also clears g_signal.
  SignalGuard();
  ~SignalGuard();  // restores the previous ones (an outer guard's, or what was there before the outermost)
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// How long a process of the launched family may refuse to be read before the refusal counts. A child of a shim
// that is exiting refuses reads (its maps read fails) until it is gone, a few ms; a real refusal lasts.
constexpr double kTransientRefusalSeconds = 2.0;

// How the program is started.
struct LaunchSetup {
  bool stdout_to_stderr = false;  // pyfold's standard output carries the folded stacks
  std::vector<std::pair<int, int>> pass_fds;  // (fd, as_fd): fd is the program's as_fd (not closed on exec)
  std::vector<std::pair<std::string, std::string>> environment;  // added to pyfold's

  // The terminal stays pyfold's: the program is not made its foreground group and reads /dev/null.
  bool view_owns_terminal = false;

  // The program's stdout and stderr both go to fd (pyfold top's view owns the terminal); -1 leaves them.
  void output_to(int fd) {
    if (fd < 0) return;
    view_owns_terminal = true;
    stdout_to_stderr = false;
    pass_fds.push_back({fd, 1});
    pass_fds.push_back({fd, 2});
  }
};

// Why a launched program is being ended: recording stopped (--duration, SIGTERM or SIGINT to pyfold), the program
// exited by itself (what it left running is ended), or an error.
enum class StopCause { duration, sigterm, sigint, exited, error };

// A program pyfold started (PATH searched) in a process group of its own, so that the whole group can be signalled
// without signalling pyfold. When pyfold is the terminal's foreground group, the program's group becomes it (the
// program reads the terminal and gets Ctrl-C, Ctrl-\ and Ctrl-Z as if started alone; a stop by Ctrl-Z stops pyfold
// too, and `fg` resumes both); otherwise a SIGINT to pyfold is forwarded to the group. pyfold is the subreaper of
// the program's descendants (PR_SET_CHILD_SUBREAPER), so that one whose parent exits (also after setsid) becomes
// pyfold's child and can still be found and ended. The program gets PR_SET_PDEATHSIG(SIGKILL), and a small guard
// process kills its group when pyfold dies without ending it (SIGKILL). A process attached with --pid is never
// signalled: it is not ours to end. Never left behind: the destructor ends the tree (an exception on the way out).
class LaunchedProgram {
 public:
  // Throws IoError when the command cannot be started.
  LaunchedProgram(const std::vector<std::string>& command, const LaunchSetup& setup);
  ~LaunchedProgram();
  LaunchedProgram(const LaunchedProgram&) = delete;
  LaunchedProgram& operator=(const LaunchedProgram&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the program without blocking; takes the next step of an ending that request_stop() began once it is due;
  // every 250 ms, notes the tree's processes and reaps those pyfold adopted. True once the program has exited.
  bool poll();
  // The processes of its tree at the last poll() but the program itself: its descendants, and those that left it
  // (an orphan re-parented to pyfold, a daemon).
  const std::vector<pid_t>& tree() const { return tree_; }
  bool exited() const { return exited_; }
  int exit_code() const;  // as a shell reports it: the exit code, or 128+signal
  // Begins ending the tree without waiting: its first signal now (see end()).
  void request_stop(StopCause cause);
  // The one place that ends a launched program and every process it started: gives the terminal back to pyfold,
  // then signals the program's process group and the tree's processes outside it as a terminal would, politely
  // first: SIGINT (SIGTERM when pyfold got SIGTERM), SIGTERM a second later, SIGKILL two seconds after that; a
  // signal to pyfold meanwhile takes the next step at once. Returns when no process of the tree is left (each
  // reaped that was pyfold's child). StopCause::exited waits for the program to end by itself first (a signal to
  // pyfold meanwhile begins the ending). Safe to call again.
  void end(StopCause cause);

 private:
  void start_ending(StopCause cause);
  void next_step();
  void signal_tree(int signal);
  std::vector<pid_t> live_tree();  // the tree's processes that have not exited; reaps those pyfold adopted
  void take_terminal_back();
  void stopped_by_terminal();  // Ctrl-Z stopped the program: stop pyfold too, resume both when continued

  pid_t pid_ = 0;
  bool exited_ = false;
  int status_ = 0;
  int terminal_ = -1;  // the terminal whose foreground group the program's group was made, -1 for none
  pid_t guard_ = 0;    // the process that kills the group if pyfold dies first
  int guard_fd_ = -1;  // its pipe: a byte says all is done, end of file that pyfold died
  std::vector<pid_t> tree_;  // the tree's processes at the last look (orphans re-parented to pyfold stay in it)
  double next_look_ = 0;
  int step_ = 0;  // 0 not ending; 1 SIGINT sent, 2 SIGTERM sent, 3 SIGKILL sent
  double next_step_at_ = 0;
  bool ended_ = false;
};

// Polls the launched program until it or one of its descendants is an initialised CPython, and returns that one
// attached; nullptr when the program exited first or recording was interrupted. Refusals that come and go while a
// process of the family execs or exits (a pyenv shim runs several short commands, then execs Python) are retried
// for a bounded time; one that lasts is thrown (AttachError).
std::unique_ptr<PythonProcess> wait_for_python(LaunchedProgram& program);

// A Python process below a PID that is not Python (a shell, `uv run`, a pyenv shim, a supervisor).
struct PythonDescendant {
  pid_t pid = 0;
  std::string version;      // "3.12"
  std::string interpreter;  // the file that holds its runtime
  std::string command_line;
};

// The initialised CPython processes among pid's descendants (not pid itself), in tree order.
std::vector<PythonDescendant> python_descendants(pid_t pid);

// --pid names a process that is not Python but has Python descendants: the message names them (PID, interpreter,
// command line) and says what to do; the binaries exit with kExitPythonDescendants.
class PythonDescendantsOnly : public std::runtime_error {
 public:
  PythonDescendantsOnly(pid_t pid, const std::vector<PythonDescendant>& descendants, const char* subprocesses_hint);
};
constexpr int kExitPythonDescendants = 3;

}  // namespace pyfold::record
