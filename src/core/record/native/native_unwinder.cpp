// --native: unwinding a stopped thread with libdwfl (through our own memory reads and register fetch), and naming
// its frames.
#include "pyfold/record/native/native_unwinder.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pyfold::record {

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::size_t kPagesPerRead = 4;   // a stack miss copies this many pages at once
constexpr std::size_t kMaxFrames = 1024;   // a deeper unwind is cut (complete = false)
constexpr std::size_t kMaxCachedPcs = 1 << 18;

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

char* debuginfo_path = nullptr;  // libdwfl's default search path for separate debug files
const Dwfl_Callbacks kModuleCallbacks = {dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr,
                                         &debuginfo_path};

}  // namespace

struct NativeUnwinder::State {
  Dwfl* dwfl = nullptr;
  pid_t pid = 0, tid = 0;
  MemoryReader* memory = nullptr;
  // This unwind's copies of the target's pages: kept in one buffer whose memory is reused from unwind to unwind.
  std::vector<std::uint64_t> pages;  // page addresses, in the order copied
  std::vector<unsigned char> bytes;  // pages[i] at bytes[i * kPage]
  std::vector<std::uint64_t> pcs, sps;
  std::vector<bool> activations;  // the frame's pc is where it is (not a return address)
  bool registers_read = false;
  bool in_syscall = false;

  void clear() {
    pages.clear();
    pcs.clear();
    sps.clear();
    activations.clear();
    registers_read = false;
  }

  const unsigned char* page_copy(std::uint64_t page) {
    for (std::size_t i = pages.size(); i-- > 0;)  // a handful of pages: the last copied are the likeliest
      if (pages[i] == page) return bytes.data() + i * kPage;
    // Stacks grow down: the caller's frames are above, so a miss copies the pages that follow too.
    std::size_t at = pages.size();
    if (bytes.size() < (at + kPagesPerRead) * kPage) bytes.resize((at + kPagesPerRead) * kPage);
    std::size_t got = 0;
    if (memory->read(page, bytes.data() + at * kPage, kPagesPerRead * kPage)) {
      got = kPagesPerRead;
    } else if (memory->read(page, bytes.data() + at * kPage, kPage)) {
      got = 1;
    } else {
      return nullptr;
    }
    for (std::size_t i = 0; i < got; ++i) pages.push_back(page + i * kPage);
    return bytes.data() + at * kPage;
  }

  bool read_word(std::uint64_t address, std::uint64_t& out) {
    std::uint64_t page = address & ~(kPage - 1), at = address - page;
    const unsigned char* p = page_copy(page);
    if (!p) return false;
    if (at + 8 <= kPage) {
      std::memcpy(&out, p + at, 8);
      return true;
    }
    const unsigned char* q = page_copy(page + kPage);  // straddles two pages
    if (!q) return false;
    p = page_copy(page);  // the buffer may have moved
    unsigned char both[8];
    std::size_t first = kPage - at;
    std::memcpy(both, p + at, first);
    std::memcpy(both + first, q, 8 - first);
    std::memcpy(&out, both, 8);
    return true;
  }
};

namespace {

pid_t no_threads(Dwfl*, void*, void**) { return 0; }  // threads are asked for by id only

bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_arg) {
  auto* state = static_cast<NativeUnwinder::State*>(arg);
  *thread_arg = arg;
  return tid == state->tid;
}

bool memory_read(Dwfl*, Dwarf_Addr address, Dwarf_Word* result, void* arg) {
  std::uint64_t value;
  if (!static_cast<NativeUnwinder::State*>(arg)->read_word(address, value)) return false;
  *result = value;
  return true;
}

// The registers of the stopped thread, in DWARF's x86-64 numbering (as elfutils' x86_64_initreg.c does).
bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
  auto* state = static_cast<NativeUnwinder::State*>(arg);
  user_regs_struct r;
  if (ptrace(PTRACE_GETREGS, state->tid, nullptr, &r) != 0) return false;
  state->registers_read = true;
  // Stopped inside a system call that was waiting: orig_rax holds its number (-1 outside one) and rax the
  // -ERESTART* code (-512 to -516) the kernel restarts it with, or -EINTR from one that is not restarted
  // (epoll_wait). A system call that was running when the stop came finished first, and rax holds its result.
  const auto result = static_cast<std::int64_t>(r.rax);
  state->in_syscall = r.orig_rax != ~0ull && ((result >= -516 && result <= -512) || result == -EINTR);
  Dwarf_Word regs[17] = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8,
                         r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip};
  return dwfl_thread_state_registers(thread, 0, 17, regs);
}

const Dwfl_Thread_Callbacks kThreadCallbacks = {no_threads, get_thread, memory_read, set_initial_registers,
                                                nullptr, nullptr};

int on_frame(Dwfl_Frame* frame, void* arg) {
  auto* state = static_cast<NativeUnwinder::State*>(arg);
  Dwarf_Addr pc;
  bool activation = false;
  if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
  Dwarf_Word sp = 0;
  dwfl_frame_reg(frame, 7, &sp);  // DWARF register 7: rsp
  state->pcs.push_back(pc);
  state->sps.push_back(sp);
  state->activations.push_back(activation);
  return state->pcs.size() >= kMaxFrames ? DWARF_CB_ABORT : DWARF_CB_OK;
}

std::string demangle(const char* name) {
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* text = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || !text) return name;
  std::string out = text;
  std::free(text);
  return out;
}

// The modules of /proc/PID/maps, as dwfl_linux_proc_report reports them (a run of mappings of one file is one
// module, the vDSO by its image in memory) except that a module starts only at the mapping of its file's first
// page. libffi 3.4+ maps a page of its own file again, before its load address, for its static closure
// trampolines: taken as the module's start, it moves every address of libffi by the distance between the two,
// and the unwind through a ctypes callback reads the wrong call-frame information (it ended at a heap address).
void report_mapped_files(Dwfl* dwfl, pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line, path, current;
  std::uint64_t low = 0, high = 0, current_inode = 0;
  auto flush = [&] {
    if (!current.empty()) dwfl_report_module(dwfl, current.c_str(), low, high);
    current.clear();
  };
  while (std::getline(in, line)) {
    unsigned long long start, end, offset, inode;
    char perms[8], dev[16];
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perms, &offset, dev, &inode,
                    &path_at) < 6)
      continue;
    path = path_at > 0 && static_cast<std::size_t>(path_at) <= line.size() ? line.substr(path_at) : "";
    if (inode == 0) {
      if (path == "[vdso]") {
        flush();
        current = "[vdso: " + std::to_string(pid) + "]";
        low = start, high = end, current_inode = 0;
        flush();
      }
      continue;  // anonymous: the .bss after a module's file mappings, heaps, stacks
    }
    if (!current.empty() && inode == current_inode && path == current) {
      high = end;
      continue;
    }
    flush();
    if (offset != 0 || path.empty() || path[0] != '/') continue;  // not a module's first page
    current = path, current_inode = inode, low = start, high = end;
  }
  flush();
}

// The start (in the file's addresses) of the function that holds pc, by the binary search table of the module's
// .eh_frame_hdr (PT_GNU_EH_FRAME; the usual encoding: 4-byte entries relative to the table, each the start of a
// function's FDE). false where there is none or it is encoded otherwise.
bool function_start(Dwfl_Module* module, std::uint64_t pc, std::uint64_t& out) {
  Dwarf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module, &bias);
  std::size_t count = 0;
  if (!elf || elf_getphdrnum(elf, &count) != 0) return false;
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Phdr header;
    if (!gelf_getphdr(elf, static_cast<int>(i), &header) || header.p_type != PT_GNU_EH_FRAME) continue;
    Elf_Data* data = elf_getdata_rawchunk(elf, header.p_offset, header.p_filesz, ELF_T_BYTE);
    if (!data || data->d_size < 12) return false;
    const auto* hdr = static_cast<const unsigned char*>(data->d_buf);
    // version 1; eh_frame_ptr: pcrel|sdata4 (0x1b); fde_count: udata4 (0x03); table: datarel|sdata4 (0x3b)
    if (hdr[0] != 1 || hdr[1] != 0x1b || hdr[2] != 0x03 || hdr[3] != 0x3b) return false;
    std::uint32_t fdes;
    std::memcpy(&fdes, hdr + 8, 4);
    if (12 + std::uint64_t{fdes} * 8 > data->d_size || fdes == 0) return false;
    std::int64_t target = static_cast<std::int64_t>(pc - bias) - static_cast<std::int64_t>(header.p_vaddr);
    auto start_of = [&](std::uint32_t k) {
      std::int32_t v;
      std::memcpy(&v, hdr + 12 + std::uint64_t{k} * 8, 4);
      return std::int64_t{v};
    };
    if (target < start_of(0)) return false;
    std::uint32_t lo = 0, hi = fdes;  // the last entry whose start is <= target
    while (hi - lo > 1) {
      std::uint32_t mid = lo + (hi - lo) / 2;
      (start_of(mid) <= target ? lo : hi) = mid;
    }
    out = static_cast<std::uint64_t>(static_cast<std::int64_t>(header.p_vaddr) + start_of(lo));
    return true;
  }
  return false;
}

}  // namespace

NativeUnwinder::NativeUnwinder(pid_t pid, MemoryReader& memory, const std::string& interpreter_file)
    : state_(std::make_unique<State>()), interpreter_(basename_of(interpreter_file)) {
  state_->pid = pid;
  state_->memory = &memory;
  state_->dwfl = dwfl_begin(&kModuleCallbacks);
  if (!state_->dwfl) {
    error_ = dwfl_errmsg(-1);
    return;
  }
  report_modules();
  if (!dwfl_attach_state(state_->dwfl, nullptr, pid, &kThreadCallbacks, state_.get())) {
    error_ = std::string("libdwfl: ") + dwfl_errmsg(-1);
    dwfl_end(state_->dwfl);
    state_->dwfl = nullptr;
  }
}

NativeUnwinder::~NativeUnwinder() {
  if (state_->dwfl) dwfl_end(state_->dwfl);
}

// Reads /proc/PID/maps into libdwfl's module list, keeping the modules already known (and what they cached); true
// when some module is new.
bool NativeUnwinder::report_modules() {
  auto count = [&] {
    std::ptrdiff_t n = 0;
    dwfl_getmodules(
        state_->dwfl, [](Dwfl_Module*, void**, const char*, Dwarf_Addr, void* arg) -> int {
          ++*static_cast<std::ptrdiff_t*>(arg);
          return DWARF_CB_OK;
        },
        &n, 0);
    return n;
  };
  std::ptrdiff_t before = count();
  dwfl_report_begin_add(state_->dwfl);
  report_mapped_files(state_->dwfl, state_->pid);
  dwfl_report_end(state_->dwfl, nullptr, nullptr);
  last_refresh_ = unwinds_;
  return count() != before;
}

bool NativeUnwinder::unwind(pid_t tid, NativeStack& out) {
  out.frames.clear();
  out.stack_pointers.clear();
  out.complete = false;
  if (!state_->dwfl) return false;
  ++unwinds_;
  State& s = *state_;
  s.tid = tid;
  s.clear();
  for (int attempt = 0;; ++attempt) {
    s.pcs.clear();
    s.sps.clear();
    s.activations.clear();
    int result = dwfl_getthread_frames(s.dwfl, tid, on_frame, &s);
    if (!s.registers_read) {
      error_ = "registers unreadable";
      return false;
    }
    out.complete = result == 0 && !s.pcs.empty();
    if (!out.complete) error_ = dwfl_errmsg(-1);
    // A return address in no known module: perhaps one loaded since the list was read (an extension imported
    // later). Without its call-frame information the unwind beyond it is guesswork, so read the list again and,
    // when it has grown, unwind again (the thread is still stopped). Checked less often while nothing new turns up.
    bool unknown = false;
    for (std::uint64_t pc : s.pcs)
      if (!dwfl_addrmodule(s.dwfl, pc)) unknown = true;
    if (attempt > 0 || !unknown || unwinds_ - last_refresh_ < refresh_interval_) break;
    if (!report_modules()) {
      refresh_interval_ = std::min<std::uint64_t>(refresh_interval_ * 2, kMaxRefreshInterval);
      break;
    }
    refresh_interval_ = kMinRefreshInterval;
  }
  for (std::size_t i = 0; i < s.pcs.size(); ++i) {
    // A return address is just after its call: name the call (pc - 1), which may be the function's last byte.
    std::uint64_t pc = s.activations[i] ? s.pcs[i] : s.pcs[i] - 1;
    out.frames.push_back(symbol(pc));
  }
  out.stack_pointers = s.sps;
  out.in_syscall = s.in_syscall;
  // Complete: libdwfl reached a frame that says it is the first (CFI marks its return address undefined), and that
  // frame is a thread's start (_start, clone3 in libc), not a guess past code without unwind information (as after a
  // libffi closure trampoline).
  if (out.complete) {
    const NativeSymbol& root = *out.frames.back();
    static const char* const kRoots[] = {"_start", "clone", "clone3", "__clone", "__clone3", "start_thread"};
    bool is_root = root.module.rfind("libc.so", 0) == 0 && root.name.rfind(root.module + "+", 0) == 0;
    for (const char* name : kRoots) is_root = is_root || root.name == name;
    out.complete = is_root;
  }
  return true;
}

const NativeSymbol* NativeUnwinder::symbol(std::uint64_t pc) {
  auto cached = by_pc_.find(pc);
  if (cached != by_pc_.end()) return cached->second;
  if (by_pc_.size() >= kMaxCachedPcs) by_pc_.clear();
  Dwfl_Module* module = dwfl_addrmodule(state_->dwfl, pc);
  std::string key, name, module_name = "[unknown]";
  char hex[32];
  if (!module) {
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(pc));
    name = hex;
    key = name;
    if (by_function_.size() > kMaxCachedPcs) by_function_.clear(), by_pc_.clear();  // (no stack keeps one)
  } else {
    const char* path = dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    module_name = basename_of(path ? path : "?");
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char* found = dwfl_module_addrinfo(module, pc, &offset, &sym, nullptr, nullptr, nullptr);
    if (found) {
      name = demangle(found);
      auto at = name.find('@');  // a versioned symbol: __libc_start_main@@GLIBC_2.34, clock_nanosleep@GLIBC_2.2.5
      if (at != std::string::npos && at > 0) name.resize(at);
      std::snprintf(hex, sizeof hex, "@%llx", static_cast<unsigned long long>(pc - offset));
      key = module_name + hex;
    } else {
      // No symbol: name the function by where it starts in the file, from its call-frame information, so that
      // every address in one function makes one frame.
      Dwarf_Addr bias = 0, start = 0, end = 0;
      bool signal_frame = false;
      Dwarf_CFI* cfi = dwfl_module_eh_cfi(module, &bias);
      Dwarf_Frame* frame = nullptr;
      std::uint64_t at = pc - bias;
      std::uint64_t fde_start = 0;
      if (function_start(module, pc, fde_start)) {
        at = fde_start;
      } else if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &frame) == 0) {
        // (the start of the CFI row that holds pc: one function may get more than one name)
        if (dwarf_frame_info(frame, &start, &end, &signal_frame) >= 0) at = start;
        std::free(frame);
      } else {
        dwfl_module_getelf(module, &bias);
        at = pc - bias;
      }
      std::snprintf(hex, sizeof hex, "+0x%llx", static_cast<unsigned long long>(at));
      name = module_name + hex;
      key = name;
    }
  }
  auto& slot = by_function_[key];
  if (!slot) {
    slot = std::make_unique<NativeSymbol>();
    slot->name = name;
    slot->module = module_name;
    slot->kind = module_name == interpreter_ ? interpreter_kind(name) : NativeKind::library;
  }
  if (module) by_pc_.emplace(pc, slot.get());  // an address in no module may be in one later
  return slot.get();
}

NativeKind NativeUnwinder::interpreter_kind(const std::string& name) {
  // _PyEval_EvalFrameDefault, and its parts GCC moves out (_PyEval_EvalFrameDefault.cold).
  if (name == "_PyEval_EvalFrameDefault" || starts_with(name, "_PyEval_EvalFrameDefault.")) return NativeKind::eval;
  // The code that carries a call from one Python frame (or a C caller) to the callee: calls, vectorcall, the
  // eval entry points and helpers. Builtins (list_sort_impl, time_sleep, zlib_compress_impl in a static build)
  // are not among them.
  static const char* const kPrefixes[] = {
      "_PyEval_",        "PyEval_",        "_TAIL_CALL_",     "PyObject_Call",  "_PyObject_Call",
      "_PyObject_MakeTpCall", "PyObject_Vectorcall", "_PyObject_Vectorcall", "PyVectorcall_",
      "_PyVectorcall_",  "_PyFunction_",   "PyCFunction_Call", "_PyCFunction_",  "cfunction_",
      "method_vectorcall", "vectorcall_",  "call_function",   "do_call_core",   "function_code_fastcall",
      "slot_tp_call",    "object_vacall",  "_PyObject_FastCall", "PyObject_FastCall", "builtin_function_or_method",
      "_Py_call",        "method_call",    "_PyMethod_",      "partial_vectorcall", "_PyEvalFramePushAndInit",
  };
  for (const char* p : kPrefixes)
    if (starts_with(name, p)) return NativeKind::machinery;
  return NativeKind::interpreter;
}

}  // namespace pyfold::record
