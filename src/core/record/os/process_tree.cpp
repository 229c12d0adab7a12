#include "pyfold/record/os/process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "pyfold/io.hpp"

namespace pyfold::record {

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(task.c_str());
  if (!dir) return out;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream in(task + "/" + entry->d_name + "/children");
    pid_t child;
    while (in >> child) out.push_back(child);
  }
  closedir(dir);
  return out;
}

std::vector<pid_t> descendants_of(const std::vector<pid_t>& roots, std::size_t limit) {
  std::vector<pid_t> out;
  std::set<pid_t> seen;
  for (pid_t pid : roots)
    if (seen.insert(pid).second) out.push_back(pid);
  for (std::size_t i = 0; i < out.size() && out.size() < limit; ++i)
    for (pid_t child : children_of(out[i]))
      if (out.size() < limit && seen.insert(child).second) out.push_back(child);
  return out;
}

bool process_ids(pid_t pid, ProcessIds& ids) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "PID (COMM) STATE PPID PGRP SESSION ...": COMM may hold spaces and parentheses, so after its last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(stat.substr(close + 1));
  long parent = 0, group = 0, session = 0;
  if (!(fields >> ids.state >> parent >> group >> session)) return false;
  ids.parent = static_cast<pid_t>(parent), ids.group = static_cast<pid_t>(group);
  ids.session = static_cast<pid_t>(session);
  return true;
}

std::string command_line_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!all.empty() && all.back() == '\0') all.pop_back();
  for (char& c : all)
    if (c == '\0') c = ' ';
  return all;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace pyfold::record
