#include "pyfold/record/run_control.hpp"
#include "pyfold/record/record_options.hpp"
#include "pyfold/record/sampling.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "pyfold/io.hpp"
#include "pyfold/record/os/process_tree.hpp"
#include "pyfold/record/os/thread_pauser.hpp"
#include "pyfold/record/cpython/python_process.hpp"

namespace pyfold::record {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_signal_count = 0;

std::function<bool()> signalled_from_now() {
  const sig_atomic_t signals = g_signal_count;
  return [signals] { return g_signal_count != signals; };
}

namespace {
void on_signal(int signal) {
  g_signal = signal;
  g_signal_count = g_signal_count + 1;
}
}  // namespace

namespace {
int g_guards = 0;  // SignalGuards alive
}  // namespace

SignalGuard::SignalGuard() {
  if (g_guards++ == 0) g_signal = 0;  // a signal an outer guard caught (start-up's) still ends the recording
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

SignalGuard::~SignalGuard() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  --g_guards;
}

namespace {

// How long the tree has after SIGINT before SIGTERM, and after SIGTERM before SIGKILL.
constexpr double kSigintGrace = 1.0;
constexpr double kSigtermGrace = 2.0;
// How long to wait for processes after SIGKILL (one in uninterruptible sleep dies when it wakes).
constexpr double kKilledWait = 5.0;
constexpr double kLookInterval = 0.25;  // (each look reads every thread's children file: not at the sampling rate)

// The terminal pyfold's standard input is, when pyfold's group is its foreground group; -1 otherwise.
int foreground_terminal() {
  if (!isatty(STDIN_FILENO)) return -1;
  return tcgetpgrp(STDIN_FILENO) == getpgrp() ? STDIN_FILENO : -1;
}

// Makes group the terminal's foreground group. pyfold ignores SIGTTOU while it runs a program, so this works from
// the background too.
void give_terminal(int terminal, pid_t group) {
  while (tcsetpgrp(terminal, group) != 0 && errno == EINTR) {
  }
}

// The guard: a process of pyfold's own that waits on a pipe only pyfold writes to. End of file (pyfold died before
// writing the byte that says all is done) kills the program's process group. Only async-signal-safe calls (pyfold
// may have threads).
pid_t start_guard(pid_t group, int& write_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return 0;
  pid_t guard = fork();
  if (guard < 0) {
    close(fds[0]), close(fds[1]);
    return 0;
  }
  if (guard == 0) {
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE}) signal(s, SIG_IGN);
    dup2(fds[0], STDIN_FILENO);
    close_range(STDOUT_FILENO, ~0U, 0);  // nothing of pyfold's (its output pipe) held open by the guard
    char done = 0;
    ssize_t n;
    while ((n = read(STDIN_FILENO, &done, 1)) < 0 && errno == EINTR) {
    }
    if (n == 0) kill(-group, SIGKILL);
    _exit(0);
  }
  close(fds[0]);
  write_fd = fds[1];
  return guard;
}

}  // namespace

LaunchedProgram::LaunchedProgram(const std::vector<std::string>& command, const LaunchSetup& setup) {
  if (command.empty()) throw IoError("no command to run");
  // Everything the child needs is made before fork: between fork and exec only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> added;
  for (const auto& [name, value] : setup.environment) added.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const auto& [name, value] : setup.environment)
      replaced = replaced || (std::strncmp(*e, name.c_str(), name.size()) == 0 && (*e)[name.size()] == '=');
    if (!replaced) envp.push_back(*e);
  }
  for (auto& a : added) envp.push_back(a.data());
  envp.push_back(nullptr);
  // Orphans of the program's tree become pyfold's children (not init's), to be found and ended.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const int terminal = setup.view_owns_terminal ? -1 : foreground_terminal();
  sigset_t ttou, old_mask;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  // A pipe closed by exec tells the parent whether exec worked.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = getpid();
  pthread_sigmask(SIG_BLOCK, &ttou, &old_mask);  // (tcsetpgrp from a background group)
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    close(status_pipe[0]), close(status_pipe[1]);
    throw IoError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // pyfold died before the line above
    setpgid(0, 0);
    if (terminal >= 0) give_terminal(terminal, getpid());
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    for (auto [fd, as_fd] : setup.pass_fds) {
      if (fd == as_fd) fcntl(as_fd, F_SETFD, 0);
      else dup2(fd, as_fd);  // the copy does not close on exec
    }
    if (setup.stdout_to_stderr) dup2(STDERR_FILENO, STDOUT_FILENO);
    if (setup.view_owns_terminal) {
      // A read of the terminal from the program's background group would stop it (SIGTTIN).
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    }
    execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also here: whichever runs first, the group exists before either goes on
  if (terminal >= 0) {
    signal(SIGTTOU, SIG_IGN);  // pyfold writes to and takes back a terminal it is in the background of
    give_terminal(terminal, pid);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  terminal_ = terminal;
  close(status_pipe[1]);
  int e = 0;
  ssize_t n;
  while ((n = read(status_pipe[0], &e, sizeof e)) < 0 && errno == EINTR) {
  }
  close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof e)) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = pid;
    take_terminal_back();
    pid_ = 0;
    throw IoError("cannot run " + command[0] + ": " + std::strerror(e));
  }
  pid_ = pid;
  guard_ = start_guard(pid, guard_fd_);
}

LaunchedProgram::~LaunchedProgram() {
  try {
    end(StopCause::error);
  } catch (...) {
  }
}

void LaunchedProgram::take_terminal_back() {
  if (terminal_ < 0) return;
  if (tcgetpgrp(terminal_) == pid_) give_terminal(terminal_, getpgrp());
  signal(SIGTTOU, SIG_DFL);
  terminal_ = -1;
}

void LaunchedProgram::stopped_by_terminal() {
  // As a shell sees it, the job is pyfold's group (pyfold, and the rest of a pipeline such as pyflame-svg): it
  // stops as if Ctrl-Z had reached it, with the terminal given back; `fg` continues pyfold here.
  if (tcgetpgrp(terminal_) == pid_) give_terminal(terminal_, getpgrp());
  kill(0, SIGTSTP);
  if (tcgetpgrp(terminal_) == getpgrp()) give_terminal(terminal_, pid_);  // (after `bg` it stays in the background)
  kill(-pid_, SIGCONT);
}

bool LaunchedProgram::poll() {
  if (!exited_) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG | (terminal_ >= 0 ? WUNTRACED : 0));
    if (got == pid_ && WIFSTOPPED(status)) {
      int signal = WSTOPSIG(status);
      if (signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU) stopped_by_terminal();
    } else if (got == pid_) {
      exited_ = true;
      status_ = status;
    } else if (got < 0 && errno == ECHILD && take_reaped_status(pid_, status)) {  // it ended while stopped
      exited_ = true;
      status_ = status;
    }
  }
  const double now = monotonic_seconds();
  if (step_ > 0 && step_ < 3 && now >= next_step_at_) next_step();
  if (now >= next_look_) {
    live_tree();
    next_look_ = now + kLookInterval;
  }
  return exited_;
}

int LaunchedProgram::exit_code() const { return exit_code_of(status_); }

std::vector<pid_t> LaunchedProgram::live_tree() {
  // The roots: the program while it runs, the processes seen in the tree before (an orphan among them is now
  // pyfold's child), and children of pyfold that are not its own doing (the guard, --on-rotate's commands, which
  // stay in pyfold's session in groups of their own) but adopted: in the program's group, or in a session of
  // their own (setsid).
  ProcessIds mine, ids;
  process_ids(getpid(), mine);
  std::vector<pid_t> roots;
  if (!exited_) roots.push_back(pid_);
  for (pid_t pid : tree_) roots.push_back(pid);
  for (pid_t child : children_of(getpid()))
    if (child != pid_ && child != guard_ && process_ids(child, ids) &&
        (ids.group == pid_ || ids.session != mine.session))
      roots.push_back(child);
  std::vector<pid_t> live;
  for (pid_t pid : descendants_of(roots)) {
    if (pid == pid_ && exited_) continue;
    if (!process_ids(pid, ids)) continue;  // gone
    if (ids.state == 'Z') {
      if (ids.parent == getpid() && pid != pid_) waitpid(pid, nullptr, WNOHANG);  // adopted: ours to reap
      continue;
    }
    live.push_back(pid);
  }
  tree_ = live;
  if (!exited_) tree_.erase(std::remove(tree_.begin(), tree_.end(), pid_), tree_.end());
  return live;
}

void LaunchedProgram::signal_tree(int signal) {
  // The group once (each of its processes gets one signal, as from the terminal), then the tree's processes that
  // left it. (The group's id is the program's PID, which Linux keeps while any process of the group lives.)
  std::vector<pid_t> live = live_tree();
  bool group_alive = !exited_;
  ProcessIds ids;
  std::vector<pid_t> outside;
  for (pid_t pid : live) {
    if (!process_ids(pid, ids)) continue;
    if (ids.group == pid_) group_alive = true;
    else outside.push_back(pid);
  }
  for (int s : {signal, SIGCONT}) {  // a stopped process acts on the signal once continued
    if (s == SIGCONT && signal == SIGKILL) break;
    if (group_alive) kill(-pid_, s);
    for (pid_t pid : outside) kill(pid, s);
  }
}

void LaunchedProgram::start_ending(StopCause cause) {
  if (step_ > 0) return;
  step_ = cause == StopCause::sigterm ? 1 : 0;  // SIGTERM to pyfold: the tree gets SIGTERM first
  next_step();
}

void LaunchedProgram::next_step() {
  if (step_ >= 3) return;
  ++step_;
  signal_tree(step_ == 1 ? SIGINT : step_ == 2 ? SIGTERM : SIGKILL);
  next_step_at_ = monotonic_seconds() + (step_ == 1 ? kSigintGrace : step_ == 2 ? kSigtermGrace : kKilledWait);
}

void LaunchedProgram::request_stop(StopCause cause) {
  if (ended_ || pid_ == 0) return;
  take_terminal_back();
  start_ending(cause);
}

void LaunchedProgram::end(StopCause cause) {
  if (ended_ || pid_ == 0) return;
  take_terminal_back();
  sig_atomic_t seen = g_signal_count;
  // Ending by itself: it has all the time it needs, until a signal to pyfold says to end it.
  while (cause == StopCause::exited && step_ == 0 && !poll()) {
    if (g_signal_count != seen) {
      seen = g_signal_count;
      start_ending(g_signal == SIGTERM ? StopCause::sigterm : StopCause::sigint);
    }
    usleep(2000);
  }
  poll();
  if (!exited_ || !live_tree().empty()) {
    start_ending(cause);
    for (;;) {
      poll();
      if (exited_ && live_tree().empty()) break;
      if (g_signal_count != seen) {  // another signal to pyfold: the next step now
        seen = g_signal_count;
        next_step();
      }
      if (step_ == 3 && monotonic_seconds() >= next_step_at_) break;  // killed; what is left cannot be helped
      usleep(2000);
    }
  }
  ended_ = true;
  if (guard_ > 0) {
    char done = 1;
    ssize_t ignored = write(guard_fd_, &done, 1);
    (void)ignored;
    close(guard_fd_);
    while (waitpid(guard_, nullptr, 0) < 0 && errno == EINTR) {
    }
    guard_ = 0;
  }
}

std::unique_ptr<PythonProcess> wait_for_python(LaunchedProgram& program) {
  std::map<pid_t, double> refusing_since;
  while (!g_signal) {
    if (program.poll()) return nullptr;
    std::vector<pid_t> family{program.pid()};
    for (std::size_t i = 0; i < family.size() && family.size() < 64; ++i)
      for (pid_t c : children_of(family[i])) family.push_back(c);
    const double now = monotonic_seconds();
    std::map<pid_t, double> still_refusing;
    for (pid_t pid : family) {
      try {
        auto python = PythonProcess::attach(pid);
        if (python->initialized()) return python;
      } catch (const AttachError& e) {
        if (e.kind() == AttachError::Kind::permission) {
          // An exec or an exit in progress refuses reads for a moment; a refusal that lasts is real.
          auto it = refusing_since.find(pid);
          double since = it == refusing_since.end() ? now : it->second;
          if (now - since > kTransientRefusalSeconds)  // say what pyfold tried
            throw AttachError(AttachError::Kind::permission,
                              std::string(e.what()) + " (pyfold started this program, and still may not read "
                              "it)");
          still_refusing[pid] = since;
        } else if (e.kind() != AttachError::Kind::not_python && e.kind() != AttachError::Kind::no_process &&
                   e.kind() != AttachError::Kind::not_ready) {
          throw;
        }
      }
    }
    refusing_since.swap(still_refusing);
    usleep(1000);
  }
  return nullptr;
}

std::vector<PythonDescendant> python_descendants(pid_t pid) {
  std::vector<PythonDescendant> found;
  std::vector<pid_t> tree = descendants_of({pid});
  for (std::size_t i = 1; i < tree.size(); ++i) {
    try {
      auto python = PythonProcess::attach(tree[i]);
      if (!python->initialized()) continue;
      found.push_back({tree[i], python->version(), python->runtime_file(), command_line_of(tree[i])});
    } catch (const AttachError&) {
      // not Python, gone, or not readable: not one to name
    }
  }
  return found;
}

namespace {
std::string descendants_message(pid_t pid, const std::vector<PythonDescendant>& descendants, const char* hint) {
  std::string comm;
  {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::getline(in, comm);
  }
  std::string text = "PID " + std::to_string(pid) + (comm.empty() ? "" : " (" + comm + ")") +
                     " is not a Python process, but its descendants are:";
  for (const PythonDescendant& d : descendants)
    text += "\n  PID " + std::to_string(d.pid) + ": CPython " + d.version + " (" + d.interpreter + "): " +
            d.command_line;
  text += "\n" + std::string("give one of them to --pid") + hint;
  return text;
}
}  // namespace

PythonDescendantsOnly::PythonDescendantsOnly(pid_t pid, const std::vector<PythonDescendant>& descendants,
                                             const char* subprocesses_hint)
    : std::runtime_error(descendants_message(pid, descendants, subprocesses_hint)) {}

std::string program_name(const RecordTarget& target) {
  const auto& c = target.command;
  if (!target.python_program || c.size() < 2) return c.empty() ? "" : c[0];
  return c[1] == "-m" && c.size() > 2 ? "-m " + c[2] : c[1];
}

}  // namespace pyfold::record
