// The diagnosis of a refused read on fake /proc texts: each cause in the kernel's order, named with its fix.
#include <catch2/catch.hpp>

#include <string>

#include "pyfold/record/os/ptrace_access.hpp"

using namespace pyfold::record;

namespace {

const char* const kAllCaps = "000001ffffffffff";

std::string status(long uid, long gid, const std::string& cap_prm, const std::string& cap_eff,
                   const std::string& seccomp = "0", const std::string& nnp = "0", long euid = -1) {
  const long e = euid < 0 ? uid : euid;
  return "Name:\tpython3\nUid:\t" + std::to_string(uid) + "\t" + std::to_string(e) + "\t" + std::to_string(e) + "\t" +
         std::to_string(e) + "\nGid:\t" + std::to_string(gid) + "\t" + std::to_string(gid) + "\t" +
         std::to_string(gid) + "\t" + std::to_string(gid) + "\nCapPrm:\t" + cap_prm + "\nCapEff:\t" + cap_eff +
         "\nNoNewPrivs:\t" + nnp + "\nSeccomp:\t" + seccomp + "\n";
}

PtraceFacts facts(const std::string& own, const std::string& target) {
  PtraceFacts f;
  f.own_status = own;
  f.target_status = target;
  return f;
}

const std::string kNobody = status(65534, 65534, "0000000000000000", "0000000000000000");
const std::string kRoot = status(0, 0, kAllCaps, kAllCaps);
const std::string kRootNoPtrace = status(0, 0, "000001fffff7ffff", "000001fffff7ffff");

}  // namespace

TEST_CASE("ptrace access: status fields are read by name", "[ptrace_access]") {
  CHECK(status_field(kRoot, "Uid") == "0\t0\t0\t0");
  CHECK(status_field(kRoot, "Seccomp") == "0");
  CHECK(status_field(kRoot, "Missing").empty());
  CHECK(status_field("Seccomp:\t2", "Seccomp") == "2");  // the last line without its newline
}

TEST_CASE("ptrace access: another user's process", "[ptrace_access]") {
  PtraceFacts f = facts(kNobody, kRoot);
  f.own_user = "nobody", f.target_user = "root";
  Refusal r = diagnose_refusal(42, f);
  CHECK(r.cause == RefusalCause::other_user);
  CHECK(r.why.find("PID 42 runs as user root (uid 0) and pyfold as nobody (uid 65534)") != std::string::npos);
  CHECK(r.fix.find("sudo -u root") != std::string::npos);
  // A setuid program: real uid ours, effective uid another.
  f = facts(status(1000, 1000, "0", "0"), status(1000, 1000, "0", "0", "0", "0", 0));
  r = diagnose_refusal(42, f);
  CHECK(r.cause == RefusalCause::other_user);
  CHECK(r.why.find("setuid") != std::string::npos);
  CHECK(refusal_message(42, r).find("cannot read the memory of PID 42 (permission refused): ") == 0);
}

TEST_CASE("ptrace access: root without CAP_SYS_PTRACE, in a container or not", "[ptrace_access]") {
  PtraceFacts f = facts(kRootNoPtrace, status(1000, 1000, "0", "0"));
  Refusal r = diagnose_refusal(7, f);
  CHECK(r.cause == RefusalCause::no_ptrace_capability);
  CHECK(r.fix.find("setcap cap_sys_ptrace+ep") != std::string::npos);
  f.container = "Docker";
  r = diagnose_refusal(7, f);
  CHECK(r.cause == RefusalCause::no_ptrace_capability);
  CHECK(r.why.find("in a Docker container") != std::string::npos);
  CHECK(r.fix.find("docker run --cap-add SYS_PTRACE") != std::string::npos);
  CHECK(r.fix.find("capabilities: {add: [\"SYS_PTRACE\"]}") != std::string::npos);
  // NoNewPrivs: file capabilities would not apply.
  f = facts(status(0, 0, "000001fffff7ffff", "000001fffff7ffff", "0", "1"), status(1000, 1000, "0", "0"));
  CHECK(diagnose_refusal(7, f).fix.find("NoNewPrivs") != std::string::npos);
}

TEST_CASE("ptrace access: the target's capabilities", "[ptrace_access]") {
  Refusal r = diagnose_refusal(9, facts(kRootNoPtrace, kRoot));
  CHECK(r.cause == RefusalCause::target_capabilities);
  CHECK(r.why.find("its CapPrm 000001ffffffffff, pyfold's 000001fffff7ffff") != std::string::npos);
}

TEST_CASE("ptrace access: a target that is not dumpable", "[ptrace_access]") {
  PtraceFacts f = facts(kNobody, kNobody);
  f.target_dir_uid = 0;
  Refusal r = diagnose_refusal(5, f);
  CHECK(r.cause == RefusalCause::not_dumpable);
  CHECK(r.why.find("PR_SET_DUMPABLE") != std::string::npos);
  CHECK(r.fix.find("--method inprocess") != std::string::npos);
  f.target_dir_uid = 65534;  // dumpable: nothing /proc shows refuses it
  CHECK(diagnose_refusal(5, f).cause == RefusalCause::unknown);
}

TEST_CASE("ptrace access: kernel.yama.ptrace_scope 1, 2 and 3", "[ptrace_access]") {
  const std::string user = status(1000, 1000, "0", "0");
  PtraceFacts f = facts(user, user);
  f.yama_scope = "1\n";
  Refusal r = diagnose_refusal(3, f);
  CHECK(r.cause == RefusalCause::yama_descendants_only);
  CHECK(r.fix.find("sysctl kernel.yama.ptrace_scope=0") != std::string::npos);
  CHECK(r.fix.find("let pyfold start the program") != std::string::npos);
  f.target_is_descendant = true;
  CHECK(diagnose_refusal(3, f).cause == RefusalCause::unknown);
  f.yama_scope = "2\n";
  r = diagnose_refusal(3, f);
  CHECK(r.cause == RefusalCause::yama_admin_only);
  CHECK(r.why.find("CAP_SYS_PTRACE") != std::string::npos);
  f.yama_scope = "3\n";
  r = diagnose_refusal(3, facts(kRoot, kRoot));
  CHECK(r.cause == RefusalCause::unknown);  // no Yama in these facts
  PtraceFacts root = facts(kRoot, kRoot);
  root.yama_scope = "3";
  r = diagnose_refusal(3, root);
  CHECK(r.cause == RefusalCause::yama_no_attach);  // even root
  CHECK(r.fix.find("--method inprocess") != std::string::npos);
}

TEST_CASE("ptrace access: a seccomp filter", "[ptrace_access]") {
  PtraceFacts f = facts(status(0, 0, kAllCaps, kAllCaps, "2"), kRoot);
  Refusal r = diagnose_refusal(11, f);
  CHECK(r.cause == RefusalCause::seccomp);
  CHECK(r.why.find("Seccomp: 2") != std::string::npos);
  // In a container without CAP_SYS_PTRACE, same user: Docker's default profile; the fix is the capability.
  f = facts(status(0, 0, "000001fffff7ffff", "000001fffff7ffff", "2"), status(0, 0, "000001fffff7ffff", "000001fffff7ffff"));
  f.container = "Docker";
  r = diagnose_refusal(11, f);
  CHECK(r.cause == RefusalCause::seccomp);
  CHECK(r.fix.find("--cap-add SYS_PTRACE") != std::string::npos);
}
