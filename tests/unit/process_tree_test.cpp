// The process tree (os/process_tree.hpp): a process's ids from /proc/PID/stat, descendants breadth first.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "pyfold/record/os/process_tree.hpp"

using namespace pyfold::record;

TEST_CASE("process ids: parent, group and session of this process, as the system calls give them") {
  ProcessIds ids;
  REQUIRE(process_ids(getpid(), ids));
  CHECK(ids.parent == getppid());
  CHECK(ids.group == getpgrp());
  CHECK(ids.session == getsid(0));
  CHECK(ids.state == 'R');
  CHECK_FALSE(process_ids(999999999, ids));
}

TEST_CASE("descendants: a child in a group of its own and its child, found below this process; a zombie is 'Z'") {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    setpgid(0, 0);
    pid_t grandchild = fork();
    if (grandchild == 0) {
      pause();
      _exit(0);
    }
    ssize_t ignored = write(ready[1], &grandchild, sizeof grandchild);
    (void)ignored;
    pause();
    _exit(0);
  }
  pid_t grandchild = 0;
  REQUIRE(read(ready[0], &grandchild, sizeof grandchild) == static_cast<ssize_t>(sizeof grandchild));
  close(ready[0]), close(ready[1]);
  std::vector<pid_t> tree = descendants_of({getpid()});
  CHECK(tree.front() == getpid());
  auto at = [&](pid_t pid) { return std::find(tree.begin(), tree.end(), pid) - tree.begin(); };
  CHECK(at(child) < at(grandchild));  // breadth first
  CHECK(at(grandchild) < static_cast<long>(tree.size()));
  CHECK(descendants_of({child, child}).size() == 2);  // each once
  ProcessIds ids;
  REQUIRE(process_ids(grandchild, ids));
  CHECK(ids.parent == child);
  CHECK(ids.group == child);
  kill(grandchild, SIGKILL);
  for (int i = 0; i < 1000 && process_ids(grandchild, ids) && ids.state != 'Z'; ++i) usleep(1000);
  CHECK(ids.state == 'Z');  // its parent has not reaped it
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}
