// pyfold record --method inprocess: Python runs our bootstrap, which samples inside the program and streams folded
// lines over a pipe (fd 3 in the program); here they are counted and written like the remote method's.
#include "pyfold/record/inprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "inprocess_bootstrap.hpp"
#include "pyfold/io.hpp"
#include "pyfold/record/process_tree.hpp"
#include "pyfold/record/stack_counter.hpp"
#include "run_control.hpp"

namespace pyfold::record {

namespace {

constexpr int kSampleFd = 3;  // where the bootstrap writes, as PYFOLD_INPROCESS says

std::string bootstrap_settings(const RecordOptions& o) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.17g", o.rate);
  return "fd=" + std::to_string(kSampleFd) + ";rate=" + rate + ";mode=" + (o.mode == SampleMode::cpu ? "cpu" : "wall") +
         ";threads=" + (o.threads ? "1" : "0") + ";lines=" + (o.function ? "function" : o.nolineno ? "none" : "line");
}

// Folded lines from the pipe, possibly cut anywhere, into the counter.
class LineCounter {
 public:
  explicit LineCounter(StackCounter& counter) : counter_(counter) {}
  void feed(const char* data, std::size_t n) {
    pending_.append(data, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
      add_line(std::string_view(pending_).substr(start, nl - start));
    pending_.erase(0, start);
  }
  std::uint64_t lines() const { return lines_; }
  std::uint64_t malformed() const { return malformed_; }

 private:
  void add_line(std::string_view line) {
    auto space = line.rfind(' ');
    std::uint64_t count = 0;
    bool digits = space != std::string_view::npos && space > 0 && space + 1 < line.size();
    for (std::size_t i = space + 1; digits && i < line.size(); ++i) {
      if (line[i] < '0' || line[i] > '9') digits = false;
      else count = count * 10 + static_cast<std::uint64_t>(line[i] - '0');
    }
    if (!digits || count == 0) {
      ++malformed_;
      return;
    }
    stack_.clear();
    std::string_view frames = line.substr(0, space);
    for (std::size_t pos = 0;;) {
      std::size_t semi = frames.find(';', pos);
      stack_.push_back(counter_.intern(frames.substr(pos, semi == std::string_view::npos ? semi : semi - pos)));
      if (semi == std::string_view::npos) break;
      pos = semi + 1;
    }
    counter_.add(stack_, count);
    ++lines_;
  }

  StackCounter& counter_;
  std::string pending_;
  std::vector<std::uint32_t> stack_;
  std::uint64_t lines_ = 0, malformed_ = 0;
};

}  // namespace

bool can_read_child_memory() {
  static volatile std::uint64_t probe = 0x70796661756c74ULL;  // at the same address in a forked child
  pid_t child = fork();
  if (child < 0) return true;  // cannot tell: let the remote method report what goes wrong
  if (child == 0) {
    pause();
    _exit(0);
  }
  std::uint64_t value = 0;
  iovec local{&value, sizeof value};
  iovec remote{const_cast<std::uint64_t*>(&probe), sizeof probe};
  ssize_t got = process_vm_readv(child, &local, 1, &remote, 1, 0);
  kill(child, SIGKILL);
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return got == static_cast<ssize_t>(sizeof value) && value == probe;
}

int record_inprocess(const RecordOptions& options, const RecordTarget& target) {
  if (target.pid) throw std::invalid_argument("--pid attaches from outside: it has no in-process method");
  if (!target.python_program)
    throw std::invalid_argument("the in-process method starts Python itself: give script.py or -m MODULE, "
                                "not -- COMMAND");
  if (options.mode == SampleMode::gil) throw std::invalid_argument("--mode gil needs the remote method");
  if (options.subprocesses) throw std::invalid_argument("--subprocesses needs the remote method");
  if (options.blocking) throw std::invalid_argument("--blocking needs the remote method");

  auto out = OutputSink::open(options.output);  // fail before launching anything
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw IoError(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> args = {target.command[0], "-c", kInprocessBootstrap};
  args.insert(args.end(), target.command.begin() + 1, target.command.end());
  const std::string settings = bootstrap_settings(options);
  const bool stdout_to_stderr = options.output.empty() || options.output == "-";

  SignalGuard guard;
  const double start = now_seconds();
  pid_t child = fork();
  if (child < 0) throw IoError(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    if (fds[1] == kSampleFd) {
      fcntl(kSampleFd, F_SETFD, 0);
    } else {
      dup2(fds[1], kSampleFd);  // the copy does not close on exec
    }
    if (stdout_to_stderr) dup2(STDERR_FILENO, STDOUT_FILENO);
    setenv("PYFOLD_INPROCESS", settings.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "pyfold-record: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);

  StackCounter counter(options.timeline);
  LineCounter lines(counter);
  const double end = options.duration > 0 ? start + options.duration : INFINITY;
  bool duration_ended = false, child_exited = false;
  int status = 0, forwarded = 0;
  double interrupted_at = 0;
  char buffer[1 << 16];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    int ready = poll(&p, 1, 50);
    if (ready > 0) {
      ssize_t n = read(fds[0], buffer, sizeof buffer);
      if (n > 0) lines.feed(buffer, static_cast<std::size_t>(n));
      if (n == 0) break;  // every writer is gone: the program ended
      if (n < 0 && errno != EINTR && errno != EAGAIN) break;
    }
    double now = now_seconds();
    if (!child_exited && waitpid(child, &status, WNOHANG) == child) child_exited = true;
    // The program has exited but a child of its may hold the pipe open: take what is there and stop.
    if (child_exited && ready <= 0 && poll(&p, 1, 0) <= 0) break;
    if (!forwarded && !child_exited) {
      if (now >= end) duration_ended = true, forwarded = SIGTERM;
      else if (g_signal == SIGTERM) forwarded = SIGTERM;
      else if (g_signal == SIGINT && interrupted_at == 0) interrupted_at = now;  // it got Ctrl-C from the terminal too
      else if (interrupted_at > 0 && now - interrupted_at > 1.0) forwarded = SIGINT;
      if (forwarded) kill(child, forwarded);
    }
  }
  close(fds[0]);
  if (!child_exited) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
      if (g_signal) kill(child, g_signal);
    }
  }
  const double elapsed = now_seconds() - start;
  counter.write(*out);
  out->commit();
  if (!options.quiet) {
    std::fprintf(stderr, "pyfold-record: %llu samples in %.2f s (in-process method, %llu stack lines counted)\n",
                 static_cast<unsigned long long>(counter.total()), elapsed,
                 static_cast<unsigned long long>(lines.lines()));
    if (lines.malformed())
      std::fprintf(stderr, "pyfold-record: %llu malformed lines from the in-process sampler were skipped\n",
                   static_cast<unsigned long long>(lines.malformed()));
  }
  if (duration_ended) return 0;
  return exit_code_of(status);
}

}  // namespace pyfold::record
