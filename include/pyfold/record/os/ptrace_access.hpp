#pragma once
// Why Linux refuses this process a read of another's memory (process_vm_readv needs ptrace rights), told from what
// /proc says, in the order the kernel checks (Yama's "no attaching", user ids, dumpable, Yama's scope, the target's
// capabilities, a seccomp filter), and what to do about it. The facts are read in one place (read_ptrace_facts) and
// judged in another (diagnose_refusal), so the judgement is tested on fake /proc texts.
#include <sys/types.h>

#include <string>

namespace pyfold::record {

// What the diagnosis reads.
struct PtraceFacts {
  std::string target_status;  // /proc/PID/status of the target ("" when unreadable)
  std::string own_status;     // /proc/self/status
  std::string yama_scope;     // /proc/sys/kernel/yama/ptrace_scope ("" when there is no Yama)
  long target_dir_uid = -1;   // owner of /proc/PID/status: root when the target is not dumpable (-1: unknown)
  std::string container;      // how we know we run in a container (docker, kubernetes, podman, lxc, ...), or ""
  bool target_is_descendant = false;
  std::string own_user, target_user;  // user names of the real uids, when known
};

enum class RefusalCause {
  yama_no_attach,        // kernel.yama.ptrace_scope = 3
  other_user,            // the target runs as another user (or its ids changed: setuid)
  no_ptrace_capability,  // we are root but lack CAP_SYS_PTRACE (a container, a dropped capability)
  not_dumpable,          // the target made itself non-dumpable (prctl, setuid/setgid program)
  yama_descendants_only, // ptrace_scope = 1 and the target is not our descendant
  yama_admin_only,       // ptrace_scope = 2 without CAP_SYS_PTRACE
  target_capabilities,   // the target has capabilities we lack
  seccomp,               // a seccomp filter on us (with what the kernel would allow otherwise)
  unknown,
};

struct Refusal {
  RefusalCause cause = RefusalCause::unknown;
  std::string why;  // the cause in the user's terms, with the facts that show it
  std::string fix;  // what to do
};

// Judges the facts (pure: no file is read). pid: the target, for the text.
Refusal diagnose_refusal(pid_t pid, const PtraceFacts& facts);
// Reads the facts about pid from /proc.
PtraceFacts read_ptrace_facts(pid_t pid);
// "cannot read the memory of PID N: WHY. FIX": the message of a refused read.
std::string refusal_message(pid_t pid, const Refusal& refusal);

// The value of a `Name:\t...` line of a /proc status text ("" when absent).
std::string status_field(const std::string& status, const std::string& name);

}  // namespace pyfold::record
