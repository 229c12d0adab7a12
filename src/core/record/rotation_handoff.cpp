#include "pyfold/record/rotation_handoff.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>


extern char** environ;

namespace pyfold::record {

std::string shell_quote(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_@%+=:,./-", c));
  if (plain) return std::string(value);
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

std::string whole_seconds(double t) { return std::to_string(static_cast<long long>(std::floor(t))); }

std::string rate_text(double rate) {
  if (rate == std::floor(rate) && rate < 1e15) return std::to_string(static_cast<long long>(rate));
  char text[32];
  std::snprintf(text, sizeof text, "%g", rate);
  return text;
}

// The value of {name} at text (which starts with '{'), and the placeholder's length; false when none is there.
bool placeholder_at(std::string_view text, const FinishedProfile& p, std::string& value, std::size_t& length) {
  static const char* const names[] = {"file", "start", "end", "time", "n", "pid", "rate"};
  for (const char* name : names) {
    std::size_t n = std::strlen(name);
    if (text.size() < n + 2 || text.compare(1, n, name) != 0 || text[n + 1] != '}') continue;
    length = n + 2;
    std::string_view key(name);
    value = key == "file" ? p.file
            : key == "start" ? whole_seconds(p.start)
            : key == "end" ? whole_seconds(p.end)
            : key == "time" ? p.time
            : key == "n" ? std::to_string(p.n)
            : key == "pid" ? std::to_string(p.pid)
                           : rate_text(p.rate);
    return true;
  }
  return false;
}

// Where the shell is at a point of the template: outside quotes (the template's own level, or inside a $(...)
// with its open parentheses), inside '...', inside "...".
enum class Quoting { plain, subshell, single, double_quoted };
struct Level {
  Quoting quoting;
  int parentheses = 0;  // open '(' inside a $(...)
};

// Walks the template as the shell will read it, replacing the placeholders (when profile is given); returns the
// quote left open at the end ("" when none).
std::string walk_template(std::string_view t, const FinishedProfile* profile, std::string& out) {
  std::vector<Level> levels{{Quoting::plain}};
  std::string value;
  for (std::size_t i = 0; i < t.size();) {
    Level& level = levels.back();
    char c = t[i];
    std::size_t length = 0;
    // A placeholder; `${name}` is the shell's own parameter, left as written.
    if (c == '{' && profile && (i == 0 || t[i - 1] != '$') && placeholder_at(t.substr(i), *profile, value, length)) {
      switch (level.quoting) {
        case Quoting::single:  // close, the value quoted, reopen
          out += "'" + shell_quote(value) + "'";
          break;
        case Quoting::double_quoted:
          for (char v : value) {
            if (std::strchr("\\$`\"", v)) out.push_back('\\');
            out.push_back(v);
          }
          break;
        default:
          out += shell_quote(value);
      }
      i += length;
      continue;
    }
    out.push_back(c);
    ++i;
    switch (level.quoting) {
      case Quoting::single:
        if (c == '\'') levels.pop_back();
        break;
      case Quoting::double_quoted:
        if (c == '\\' && i < t.size()) out.push_back(t[i++]);
        else if (c == '"') levels.pop_back();
        else if (c == '$' && i < t.size() && t[i] == '(') out.push_back(t[i++]), levels.push_back({Quoting::subshell});
        break;
      default:
        if (c == '\\' && i < t.size()) out.push_back(t[i++]);
        else if (c == '\'') levels.push_back({Quoting::single});
        else if (c == '"') levels.push_back({Quoting::double_quoted});
        else if (c == '$' && i < t.size() && t[i] == '(') out.push_back(t[i++]), levels.push_back({Quoting::subshell});
        else if (c == '(' && level.quoting == Quoting::subshell) ++level.parentheses;
        else if (c == ')' && level.quoting == Quoting::subshell && level.parentheses-- == 0) levels.pop_back();
    }
  }
  switch (levels.back().quoting) {
    case Quoting::single: return "a ' is not closed";
    case Quoting::double_quoted: return "a \" is not closed";
    case Quoting::subshell: return "a $( is not closed";
    default: return "";
  }
}

// The last lines of a command's output, for its failure's report: indented under it, control characters shown as ?.
std::string output_tail(const std::string& output) {
  std::vector<std::string> lines{""};
  for (char c : output) {
    if (c == '\n') lines.emplace_back();
    else if (c != '\r') lines.back().push_back(static_cast<unsigned char>(c) < 0x20 && c != '\t' ? '?' : c);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string tail;
  for (std::size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) tail += "\n    " + lines[i];
  return tail;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

void report_to_stderr(const std::string& line) {
  std::string text = "pyfold-record: " + line + "\n";
  // One write: a line of ours never splits another's (the progress line, the summary).
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
}

constexpr std::size_t kTailBytes = 4096;  // of a command's output, kept for its failure's report

}  // namespace

std::string expand_command(std::string_view command_template, const FinishedProfile& profile) {
  std::string out;
  walk_template(command_template, &profile, out);
  return out;
}

std::string command_template_problem(std::string_view command_template) {
  std::string out;
  return walk_template(command_template, nullptr, out);
}

std::string HandoffTotals::text() const {
  std::string s = "--on-rotate: " + std::to_string(handed) + (handed == 1 ? " file" : " files") + " handed on, " +
                  std::to_string(succeeded) + " commands succeeded, " + std::to_string(failed) + " failed";
  if (deleted) s += ", " + std::to_string(deleted) + " files deleted after success";
  if (overflowed) s += ", " + std::to_string(overflowed) + " not handed on (the queue was full)";
  if (left) s += ", " + std::to_string(left) + " not handed on by the end of --on-rotate-wait";
  if (failed || overflowed || left) s += " (their files are kept)";
  return s;
}

ProfileHandoff::ProfileHandoff(HandoffOptions options, Report report)
    : options_(std::move(options)), report_(report ? std::move(report) : Report(report_to_stderr)) {
  // The runner starts with every signal blocked: SIGINT and SIGTERM are for the sampling thread to see.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  runner_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

ProfileHandoff::~ProfileHandoff() { finish(); }

void ProfileHandoff::hand_on(FinishedProfile profile) {
  std::string overflow;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++totals_.handed;
    if (closing_ || queue_.size() >= options_.queue) {
      ++(closing_ ? totals_.left : totals_.overflowed);
      overflow = profile.file;
    } else {
      queue_.push_back(std::move(profile));
    }
  }
  if (!overflow.empty()) {
    report_("--on-rotate: " + std::to_string(options_.queue) + " files already wait for the command " +
            "(--on-rotate-queue): " + overflow + " is not handed on; it is kept");
  } else {
    changed_.notify_all();
  }
}

void ProfileHandoff::run() {
  // The commands run on any CPU, never only on the one the sampler moved to (which is the program's).
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);  // (the kernel keeps the CPUs this process may use)
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return !queue_.empty() || closing_; });
    if (queue_.empty()) break;  // closing, nothing left
    FinishedProfile profile = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    run_one(profile);
    lock.lock();
    busy_ = false;
    changed_.notify_all();
  }
}

void ProfileHandoff::count_failure() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++totals_.failed;
}

void ProfileHandoff::run_one(const FinishedProfile& profile) {
  const std::string command = expand_command(options_.command, profile);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::string message = "--on-rotate: cannot run the command for " + profile.file + ": pipe: " + std::strerror(errno);
    count_failure();
    report_(message);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // (a file being written now is not the command's)
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group: Ctrl-C at the terminal ends the recording, not an upload under way; and the end of
  // --on-rotate-wait stops the whole group (sh and what it started).
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string sh = "sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), const_cast<char*>(command.c_str()), nullptr};
  pid_t pid = 0;
  int error = 0;
  bool too_late = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);  // running_ is set before finish() can look for it
    too_late = stopping_;                       // (finish() gave up while this file was being taken)
    if (!too_late) error = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ);
    if (!too_late && error == 0) running_ = pid;
    if (too_late) ++totals_.left;
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(fds[1]);
  if (too_late) {
    close(fds[0]);
    report_("--on-rotate: " + profile.file + " was not handed on within --on-rotate-wait; it is kept");
    return;
  }
  if (error != 0) {
    close(fds[0]);
    count_failure();
    report_("--on-rotate: cannot run /bin/sh for " + profile.file + ": " + std::strerror(error));
    return;
  }
  // Its output (the tail kept) until it exits; a child it left in the background may hold the pipe open.
  std::string output;
  int status = 0;
  bool exited = false, open = true;
  char buffer[4096];
  while (!exited) {
    if (open) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        ssize_t n = read(fds[0], buffer, sizeof buffer);
        if (n > 0) {
          output.append(buffer, static_cast<std::size_t>(n));
          if (output.size() > 2 * kTailBytes) output.erase(0, output.size() - kTailBytes);
        } else if (n == 0 || errno != EINTR) {
          open = false;
        }
      }
    }
    pid_t got = waitpid(pid, &status, open ? WNOHANG : 0);
    exited = got == pid || (got < 0 && errno != EINTR);
  }
  for (pollfd p{fds[0], POLLIN, 0}; open && poll(&p, 1, 0) > 0;) {  // what it wrote last
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);

  // The totals under the lock; the report and the removal outside it (neither may hold up hand_on).
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = 0;
    stopped = stopping_;
  }
  const bool succeeded = !stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  bool deleted = false;
  std::string message;
  if (stopped) {
    message = "--on-rotate: the command for " + profile.file + " was stopped at the end of --on-rotate-wait (" +
              exit_text(status) + "); the file is kept";
  } else if (succeeded && options_.delete_after) {
    deleted = unlink(profile.file.c_str()) == 0;
    if (!deleted && errno != ENOENT)  // (gone: the command moved it away)
      message = "--on-rotate-delete: cannot remove " + profile.file + ": " + std::strerror(errno);
  } else if (!succeeded) {
    std::string tail = output_tail(output);
    message = "--on-rotate: the command for " + profile.file + " " + exit_text(status) + "; the file is kept" +
              (tail.empty() ? std::string("; it wrote nothing") : "; its output ended:" + tail);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++(stopped ? totals_.left : succeeded ? totals_.succeeded : totals_.failed);
    if (deleted) ++totals_.deleted;
  }
  if (!message.empty()) report_(message);
}

HandoffTotals ProfileHandoff::finish(const std::function<bool()>& give_up) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (finished_) return totals_;
  closing_ = true;
  changed_.notify_all();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::max(0.0, options_.wait));
  while ((busy_ || !queue_.empty()) && std::chrono::steady_clock::now() < deadline && !(give_up && give_up()))
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  if (!queue_.empty()) {
    totals_.left += queue_.size();
    report_("--on-rotate: " + std::to_string(queue_.size()) + " files were not handed on within --on-rotate-wait (" +
            queue_.front().file + (queue_.size() > 1 ? " to " + queue_.back().file : std::string()) +
            "); they are kept");
    queue_.clear();
  }
  if (busy_) {
    stopping_ = true;
    if (running_ > 0) kill(-running_, SIGTERM);
    if (!changed_.wait_for(lock, std::chrono::seconds(1), [&] { return !busy_; }) && running_ > 0)
      kill(-running_, SIGKILL);
  }
  lock.unlock();
  runner_.join();
  lock.lock();
  finished_ = true;
  return totals_;
}

}  // namespace pyfold::record
