// Off-CPU reads (cpython/off_cpu.hpp): a thread held still, and the sampler's move onto its CPU.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <string>

#include "pyfold/record/cpython/off_cpu.hpp"
#include "pyfold/record/os/proc_files.hpp"

using namespace pyfold::record;

TEST_CASE("off-CPU reads: a thread that slept throughout held still; one that woke in between did not") {
  for (OffCpuReads::Check check : {OffCpuReads::Check::task_clock, OffCpuReads::Check::proc}) {
    const bool clock = check == OffCpuReads::Check::task_clock;
    INFO((clock ? "by the thread's task clock" : "by /proc"));
    int wake[2], woke[2];
    REQUIRE(pipe(wake) == 0);
    REQUIRE(pipe(woke) == 0);
    pid_t sleeper = 0;
    std::thread thread([&] {
      sleeper = static_cast<pid_t>(syscall(SYS_gettid));
      char c;
      for (;;) {
        if (write(woke[1], "x", 1) != 1 || read(wake[0], &c, 1) != 1 || c == 'q') return;  // asleep in read
      }
    });
    char c;
    REQUIRE(read(woke[0], &c, 1) == 1);
    usleep(20000);  // in its read by now
    OffCpuReads reads(getpid(), check);
    reads.before(sleeper);
    if (clock && reads.check() != OffCpuReads::Check::task_clock) {
      WARN("SKIP: the kernel refuses a perf task-clock counter here; /proc is used instead");
    } else {
      CHECK(reads.check() == check);
      usleep(2000);
      CHECK(reads.held_still(sleeper));
      CHECK_FALSE(reads.held_still(static_cast<pid_t>(syscall(SYS_gettid))));  // not the thread noted before

      reads.before(sleeper);
      REQUIRE(write(wake[1], "w", 1) == 1);  // it runs, and sleeps again
      REQUIRE(read(woke[0], &c, 1) == 1);
      usleep(20000);
      CHECK_FALSE(reads.held_still(sleeper));

      pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
      reads.before(self);
      if (clock) {
        // The sampler itself runs between the two reads of its clock: it did not hold still.
        CHECK_FALSE(reads.held_still(self));
      } else {
        // Runnable on the sampler's own CPU: waiting for the sampler, so off its CPU (here, the sampler itself).
        // A preemption or a move to another CPU between the two reads rightly says "moved": on a busy machine that
        // happens now and then, so the rule is asked a few times and must hold at least once.
        bool held = reads.held_still(self);
        for (int attempt = 0; attempt < 20 && !held; ++attempt) {
          reads.before(self);
          held = reads.held_still(self);
        }
        CHECK(held);
      }
    }
    REQUIRE(write(wake[1], "q", 1) == 1);
    thread.join();
    for (int fd : {wake[0], wake[1], woke[0], woke[1]}) close(fd);
  }
}

TEST_CASE("off-CPU reads: the sampler moves onto the CPU the thread last ran on") {
  cpu_set_t all;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  if (CPU_COUNT(&all) < 2) {
    WARN("one CPU: nowhere to move");
    return;
  }
  int first = -1, second = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE && second < 0; ++cpu)
    if (CPU_ISSET(cpu, &all)) (first < 0 ? first : second) = cpu;
  pid_t other = 0;
  bool pinned = false;
  int go[2];
  REQUIRE(pipe(go) == 0);
  std::thread thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(second, &one);
    pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    other = static_cast<pid_t>(syscall(SYS_gettid));
    char c;
    if (read(go[0], &c, 1) != 1) return;
  });
  while (other == 0) usleep(1000);
  usleep(20000);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  REQUIRE(pinned);
  OffCpuReads reads(getpid());
  CHECK(reads.follow(other));
  CHECK(sched_getcpu() == second);
  CHECK_FALSE(reads.follow(other));  // already there
  CHECK(reads.moves() == 1);
  REQUIRE(write(go[1], "q", 1) == 1);
  thread.join();
  REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
}
