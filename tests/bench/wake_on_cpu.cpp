// wake-on-cpu CPU RATE -- COMMAND...: runs COMMAND on CPU, and wakes on that CPU RATE times a second doing nothing
// else until COMMAND exits. What any sampler that reads a program while it is off its CPU must cost it at least:
// record_bench.py's floor for pyfold record's default method (each wake takes the program's CPU for a moment).
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: wake-on-cpu CPU RATE -- COMMAND [ARG...]\n");
    return 2;
  }
  const int cpu = std::atoi(argv[1]);
  const long interval_ns = static_cast<long>(1e9 / std::atof(argv[2]));
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) {
    std::perror("wake-on-cpu: sched_setaffinity");
    return 2;
  }
  pid_t child = fork();
  if (child == 0) {
    execvp(argv[4], argv + 4);
    std::perror("wake-on-cpu: exec");
    _exit(127);
  }
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  int status = 0;
  for (long wakes = 0;; ++wakes) {
    next.tv_nsec += interval_ns;
    while (next.tv_nsec >= 1000000000L) next.tv_nsec -= 1000000000L, ++next.tv_sec;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    if (wakes % 16 == 0 && waitpid(child, &status, WNOHANG) == child) break;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
