// Why a read of another process's memory is refused, from /proc, and what to do about it.
#include "pyfold/record/os/ptrace_access.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "pyfold/record/os/process_tree.hpp"

namespace pyfold::record {

namespace {

constexpr int kCapSysPtrace = 19;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::string();
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<long> numbers(const std::string& text) {
  std::vector<long> out;
  std::istringstream in(text);
  long n;
  while (in >> n) out.push_back(n);
  return out;
}

std::uint64_t hex_field(const std::string& status, const std::string& name) {
  const std::string value = status_field(status, name);
  return value.empty() ? 0 : std::strtoull(value.c_str(), nullptr, 16);
}

std::string hex(std::uint64_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

std::string user_text(long uid, const std::string& name) {
  return (name.empty() ? "uid " + std::to_string(uid) : name + " (uid " + std::to_string(uid) + ")");
}

// How to run with CAP_SYS_PTRACE where we are.
std::string capability_fix(const PtraceFacts& f) {
  const std::string container =
      "give the container the capability: `docker run --cap-add SYS_PTRACE ...` (podman the same), or in "
      "Kubernetes `securityContext: {capabilities: {add: [\"SYS_PTRACE\"]}}` on the container";
  const std::vector<long> own_uid = numbers(status_field(f.own_status, "Uid"));
  const bool root = !own_uid.empty() && own_uid[0] == 0;
  if (!f.container.empty()) return root ? container : "run pyfold as root in the container, and " + container;
  std::string fix = "run pyfold as root with its capabilities (`sudo pyfold ...`, nothing dropped), or give "
                    "pyfold-record the capability (`sudo setcap cap_sys_ptrace+ep $(command -v pyfold-record)`)";
  if (status_field(f.own_status, "NoNewPrivs") == "1")
    fix += " (not setcap here: this process runs with NoNewPrivs, which ignores file capabilities)";
  return fix;
}

const char* const kLaunch = "or let pyfold start the program and sample it from inside: "
                            "`pyfold record --method inprocess app.py` (or -m MODULE)";

}  // namespace

std::string status_field(const std::string& status, const std::string& name) {
  const std::string key = name + ":";
  for (std::size_t at = 0; at < status.size();) {
    std::size_t end = status.find('\n', at);
    if (end == std::string::npos) end = status.size();
    if (status.compare(at, key.size(), key) == 0) {
      std::size_t v = at + key.size();
      while (v < end && (status[v] == ' ' || status[v] == '\t')) ++v;
      std::size_t e = end;
      while (e > v && (status[e - 1] == ' ' || status[e - 1] == '\t' || status[e - 1] == '\r')) --e;
      return status.substr(v, e - v);
    }
    at = end + 1;
  }
  return std::string();
}

Refusal diagnose_refusal(pid_t pid, const PtraceFacts& f) {
  const std::string target = "PID " + std::to_string(pid);
  const std::vector<long> own_uid = numbers(status_field(f.own_status, "Uid")),
                          own_gid = numbers(status_field(f.own_status, "Gid")),
                          uid = numbers(status_field(f.target_status, "Uid")),
                          gid = numbers(status_field(f.target_status, "Gid"));
  const std::uint64_t own_eff = hex_field(f.own_status, "CapEff"), own_prm = hex_field(f.own_status, "CapPrm"),
                      target_prm = hex_field(f.target_status, "CapPrm");
  const bool can_ptrace = (own_eff >> kCapSysPtrace) & 1;
  const std::string scope_text = status_field("s:" + f.yama_scope, "s");
  const int scope = scope_text.empty() ? -1 : std::atoi(scope_text.c_str());
  const bool seccomp = status_field(f.own_status, "Seccomp") == "2";
  const std::string where = f.container.empty() ? std::string() : " (in a " + f.container + " container)";
  Refusal r;

  if (scope == 3) {
    r.cause = RefusalCause::yama_no_attach;
    r.why = "kernel.yama.ptrace_scope is 3 (/proc/sys/kernel/yama/ptrace_scope): this kernel lets no process read "
            "another's memory, not even root, until it reboots";
    r.fix = "let pyfold start the program and sample it from inside: `pyfold record --method inprocess -- python3 "
            "app.py` (pyfold record -- ... picks that method itself when it cannot read a child)";
    return r;
  }
  if (own_uid.size() >= 1 && own_gid.size() >= 1 && uid.size() >= 3 && gid.size() >= 3 && !can_ptrace) {
    // The kernel compares our real ids with the target's real, effective and saved ids.
    const bool users_differ = uid[0] != own_uid[0] || uid[1] != own_uid[0] || uid[2] != own_uid[0];
    const bool groups_differ = gid[0] != own_gid[0] || gid[1] != own_gid[0] || gid[2] != own_gid[0];
    if (users_differ || groups_differ) {
      const bool changed_ids = uid[0] != uid[1] || uid[1] != uid[2] || gid[0] != gid[1] || gid[1] != gid[2];
      if (own_uid[0] == 0) {
        r.cause = RefusalCause::no_ptrace_capability;
        r.why = "pyfold runs as root but without the CAP_SYS_PTRACE capability" + where + ", which reading " + target +
                " (" + user_text(uid[1], f.target_user) + ") needs";
        r.fix = capability_fix(f);
        return r;
      }
      r.cause = RefusalCause::other_user;
      if (!users_differ) {
        r.why = target + " runs with group ids (real, effective, saved: " + status_field(f.target_status, "Gid") +
                ") other than pyfold's (gid " + std::to_string(own_gid[0]) + ")";
      } else {
        r.why = target + " runs as user " +
                (uid[0] != own_uid[0] ? user_text(uid[0], f.target_user) : user_text(uid[1], std::string())) +
                " and pyfold as " + user_text(own_uid[0], f.own_user);
      }
      if (changed_ids) r.why += " (its user or group ids changed: a setuid or setgid program)";
      r.why += "; only the same user, or a process with CAP_SYS_PTRACE, may read it";
      r.fix = "run pyfold as that user (`sudo -u " + (f.target_user.empty() ? "#" + std::to_string(uid[0]) : f.target_user) +
              " pyfold ...`) or as root (`sudo pyfold ...`), " + kLaunch;
      return r;
    }
  }
  if (!can_ptrace && f.target_dir_uid == 0 && uid.size() >= 1 && uid[0] != 0) {
    r.cause = RefusalCause::not_dumpable;
    r.why = target + " is not dumpable (/proc/" + std::to_string(pid) +
            "/status belongs to root although the process runs as " + user_text(uid[0], f.target_user) +
            "): it called prctl(PR_SET_DUMPABLE, 0), or changed its user or group ids; only a process with "
            "CAP_SYS_PTRACE may read it";
    r.fix = capability_fix(f) + ", " + kLaunch;
    return r;
  }
  if (scope == 2 && !can_ptrace) {
    r.cause = RefusalCause::yama_admin_only;
    r.why = "kernel.yama.ptrace_scope is 2 (/proc/sys/kernel/yama/ptrace_scope): only a process with "
            "CAP_SYS_PTRACE may read another's memory";
    r.fix = capability_fix(f) + ", or lower the setting (`sudo sysctl kernel.yama.ptrace_scope=1`, then let pyfold "
            "start the program), " + kLaunch;
    return r;
  }
  if (scope == 1 && !can_ptrace && !f.target_is_descendant) {
    r.cause = RefusalCause::yama_descendants_only;
    r.why = "kernel.yama.ptrace_scope is 1 (/proc/sys/kernel/yama/ptrace_scope): a process may read only its own "
            "descendants, and " + target + " is not pyfold's";
    r.fix = "let pyfold start the program (`pyfold record -- python3 app.py`), or allow reading any process of your "
            "user (`sudo sysctl kernel.yama.ptrace_scope=0`), or run pyfold as root (`sudo pyfold ...`)";
    return r;
  }
  if (!can_ptrace && !f.target_status.empty() && (target_prm & ~own_prm) != 0) {
    r.cause = RefusalCause::target_capabilities;
    r.why = target + " holds capabilities that pyfold lacks (its CapPrm " + hex(target_prm) + ", pyfold's " +
            hex(own_prm) + "): a process may read only one whose capabilities it has too, unless it has "
            "CAP_SYS_PTRACE";
    r.fix = "run pyfold with the capabilities the program has (as root with the full set, nothing dropped) or "
            "with CAP_SYS_PTRACE; " + capability_fix(f) + ", " + kLaunch;
    return r;
  }
  if (seccomp) {
    r.cause = RefusalCause::seccomp;
    r.why = "a seccomp filter on pyfold (Seccomp: 2 in /proc/self/status) refuses process_vm_readv" + where;
    r.fix = !f.container.empty() && !can_ptrace
                ? capability_fix(f) + " (Docker's default seccomp profile allows the read with that capability)"
                : "run pyfold where no seccomp filter refuses process_vm_readv (Docker: a profile that allows it, "
                  "`--security-opt seccomp=PROFILE.json`), " + std::string(kLaunch);
    return r;
  }
  if (!can_ptrace && !f.container.empty()) {
    r.cause = RefusalCause::no_ptrace_capability;
    r.why = "pyfold runs without the CAP_SYS_PTRACE capability" + where;
    r.fix = capability_fix(f);
    return r;
  }
  r.cause = RefusalCause::unknown;
  r.why = "the kernel refused it, for none of the usual reasons that /proc shows (user ids, capabilities, "
          "dumpable, kernel.yama.ptrace_scope, seccomp); a security module (AppArmor, SELinux) may";
  r.fix = "run pyfold as root (`sudo pyfold ...`), " + std::string(kLaunch);
  return r;
}

PtraceFacts read_ptrace_facts(pid_t pid) {
  PtraceFacts f;
  const std::string dir = "/proc/" + std::to_string(pid);
  f.target_status = read_text(dir + "/status");
  f.own_status = read_text("/proc/self/status");
  f.yama_scope = read_text("/proc/sys/kernel/yama/ptrace_scope");
  struct stat st {};
  if (stat((dir + "/status").c_str(), &st) == 0) f.target_dir_uid = static_cast<long>(st.st_uid);
  // A container: the files runtimes leave, then the cgroup path of PID 1.
  const std::string cgroup = read_text("/proc/1/cgroup");
  if (std::getenv("KUBERNETES_SERVICE_HOST") || cgroup.find("kubepods") != std::string::npos)
    f.container = "Kubernetes";
  else if (access("/.dockerenv", F_OK) == 0 || cgroup.find("docker") != std::string::npos)
    f.container = "Docker";
  else if (access("/run/.containerenv", F_OK) == 0)
    f.container = "Podman";
  else if (cgroup.find("lxc") != std::string::npos || cgroup.find("containerd") != std::string::npos)
    f.container = "container runtime's";
  for (pid_t p = pid, steps = 0; p > 1 && steps < 4096; ++steps) {
    ProcessIds ids;
    if (!process_ids(p, ids)) break;
    if (ids.parent == getpid()) {
      f.target_is_descendant = true;
      break;
    }
    p = ids.parent;
  }
  auto name_of = [](const std::string& status) {
    const std::vector<long> ids = numbers(status_field(status, "Uid"));
    if (ids.empty()) return std::string();
    const passwd* pw = getpwuid(static_cast<uid_t>(ids[0]));
    return pw ? std::string(pw->pw_name) : std::string();
  };
  f.own_user = name_of(f.own_status);
  f.target_user = name_of(f.target_status);
  return f;
}

std::string refusal_message(pid_t pid, const Refusal& refusal) {
  return "cannot read the memory of PID " + std::to_string(pid) + " (permission refused): " + refusal.why +
         ". To fix: " + refusal.fix + ".";
}

}  // namespace pyfold::record
