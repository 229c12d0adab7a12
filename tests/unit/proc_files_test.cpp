// /proc files (os/proc_files.hpp): thread states through kept descriptors.
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>
#include <set>
#include <thread>
#include <string>

#include "pyfold/record/os/proc_files.hpp"

using namespace pyfold::record;

TEST_CASE("thread state from /proc/PID/task/TID/stat through a kept descriptor") {
  ThreadStatReader reader(getpid());
  pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  CHECK(reader.state(self) == 'R');  // reading it, so running
  CHECK(reader.state(self) == 'R');  // the same descriptor again
  CHECK(reader.state(999999999) == '?');
  CHECK_FALSE(thread_name(getpid(), self).empty());
}

TEST_CASE("thread state: descriptors of threads that came and went stay bounded (the in-process sampler's are the "
          "program's)") {
  auto open_fds = [] {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (readdir(d)) ++n;
      closedir(d);
    }
    return n;
  };
  ThreadStatReader reader(getpid());
  const int before = open_fds();
  for (int i = 0; i < 3 * static_cast<int>(ThreadStatReader::kMaxKept); ++i) {
    char state = '?';
    std::thread([&] { state = reader.state(static_cast<pid_t>(syscall(SYS_gettid))); }).join();
    CHECK(state == 'R');
  }
  CHECK(open_fds() - before <= static_cast<int>(ThreadStatReader::kMaxKept));
}
