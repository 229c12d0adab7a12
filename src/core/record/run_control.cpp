#include "pyfold/record/run_control.hpp"
#include "pyfold/record/record_options.hpp"
#include "pyfold/record/sampling.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "pyfold/io.hpp"
#include "pyfold/record/os/process_tree.hpp"
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

// How long a process of the launched family may refuse to be read before the refusal counts. A child of a shim
// that is exiting refuses reads (its maps read fails) until it is gone, a few ms; a real refusal lasts.
constexpr double kTransientRefusalSeconds = 2.0;
}  // namespace

SignalGuard::SignalGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

SignalGuard::~SignalGuard() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

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
  // A pipe closed by exec tells the parent whether exec worked.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(status_pipe[0]), close(status_pipe[1]);
    throw IoError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // pyfold died before the line above
    for (auto [fd, as_fd] : setup.pass_fds) {
      if (fd == as_fd) fcntl(as_fd, F_SETFD, 0);
      else dup2(fd, as_fd);  // the copy does not close on exec
    }
    if (setup.stdout_to_stderr) dup2(STDERR_FILENO, STDOUT_FILENO);
    execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(status_pipe[1]);
  int e = 0;
  ssize_t n;
  while ((n = read(status_pipe[0], &e, sizeof e)) < 0 && errno == EINTR) {
  }
  close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof e)) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw IoError("cannot run " + command[0] + ": " + std::strerror(e));
  }
  pid_ = pid;
}

LaunchedProgram::~LaunchedProgram() {
  if (exited_) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool LaunchedProgram::poll() {
  if (exited_) return true;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) {
    exited_ = true;
  } else if (sigint_at_ > 0 && monotonic_seconds() >= sigint_at_) {
    kill(pid_, SIGINT);
    sigint_at_ = 0;
  }
  return exited_;
}

void LaunchedProgram::reaped(int wait_status) {
  exited_ = true;
  status_ = wait_status;
}

int LaunchedProgram::exit_code() const { return exit_code_of(status_); }

void LaunchedProgram::request_stop(StopCause cause) {
  if (exited_) return;
  if (cause == StopCause::sigint) {
    if (sigint_at_ == 0) sigint_at_ = monotonic_seconds() + 1.0;
  } else {
    kill(pid_, SIGTERM);
  }
}

void LaunchedProgram::wait() {
  sig_atomic_t seen = g_signal_count;
  while (!poll()) {
    usleep(1000);
    if (g_signal_count != seen) {  // another signal to pyfold while the program finishes: it gets it at once
      seen = g_signal_count;
      kill(pid_, g_signal);
    }
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
          if (now - since > kTransientRefusalSeconds) throw;
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

std::string program_name(const RecordTarget& target) {
  const auto& c = target.command;
  if (!target.python_program || c.size() < 2) return c.empty() ? "" : c[0];
  return c[1] == "-m" && c.size() > 2 ? "-m " + c[2] : c[1];
}

}  // namespace pyfold::record
