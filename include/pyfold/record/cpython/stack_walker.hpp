#pragma once
// The Python stacks of every thread of an interpreter, read from another process's memory as a snapshot: what
// recent samples needed (list heads, thread states, cframes, frames) is copied in one read_many, and the walk
// runs on that copy (made while the thread that can change it is off its CPU: off_cpu.hpp). A walk that read
// beyond the copy, or is not
// consistent (it did not reach the thread's first frame, a pointer leads nowhere, a frame's code is not code), is
// read again at once, a bounded number of times, and only then reported torn, with its reason. Code objects, names
// and line tables are read after the snapshot: they do not change under a live frame, and are cached.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/cpython/python_objects.hpp"

namespace pyfold::record {

// A code object as the walker uses it: read once, then checked cheaply against the object once per sample.
struct CodeInfo {
  std::string name;      // co_qualname (3.11+) or co_name
  std::string filename;  // co_filename
  int first_line = 0;
  std::uint32_t flags = 0;  // co_flags (<= 3.10 only)
  std::string line_table;   // co_lnotab / co_linetable bytes
  std::uint64_t filename_ptr = 0, name_ptr = 0, table_ptr = 0;
  std::uint64_t checked_in_sample = 0;  // the sample that last checked it against the target
  // 3.13+: the interpreter's own _Py_InitCleanup, which CALL_ALLOC_AND_ENTER_INIT pushes under a class's Python
  // __init__ to check that it returned None. Not the program's code: left out of stacks (its moments go to its
  // caller, the line that made the instance).
  bool init_cleanup = false;
  std::unordered_map<long, int> lines;  // bytecode offset -> line, as decoded
  std::unordered_map<int, std::uint32_t> frame_ids;  // line -> the recorder's interned frame id
};

struct FrameRef {
  CodeInfo* code;
  int line;
  std::uint64_t address = 0;  // of the frame in the target (_PyInterpreterFrame, or PyFrameObject <= 3.10)
  // The outermost Python frame run by one native _PyEval_EvalFrameDefault call (<= 3.10: every frame; 3.11:
  // is_entry; 3.12+: the frame after which the walk met a shim): where --native splits the stack among eval calls.
  bool entry = true;
  // 3.12+, on an entry frame: the shim (the eval call's entry frame, a local of that _PyEval_EvalFrameDefault on
  // the C stack) the walk met next; --native finds the eval call's native frame by it. 0 otherwise.
  std::uint64_t shim = 0;
};

struct ThreadStack {
  std::uint64_t tstate = 0;
  std::uint64_t interp = 0;     // the interpreter it belongs to
  std::uint64_t thread_id = 0;  // threading.get_ident()
  // The thread state's unique id (PyThreadState.id): tells a new thread from an ended one whose thread state,
  // ident and stack it reuses.
  std::uint64_t serial = 0;
  pid_t tid = 0;                // native thread id (0 when unknown)
  bool holds_gil = false;
  std::vector<FrameRef> frames;  // innermost first
  // The thread-state words StackWalker::read_thread_words asked for, copied in the same snapshot as the frames.
  std::uint64_t words[2] = {0, 0};
};

class StackWalker {
 public:
  // pid: the target's process id (<= 3.10 finds a thread's kernel id through glibc's struct pthread, which holds it).
  StackWalker(MemoryReader& memory, const PythonRuntime& runtime, pid_t pid);

  // Whether the walker's fixed buffers hold what a layout asks for (3.13+ layouts come from the target itself).
  static bool layout_fits(const Layout& layout);

  enum class Read { ok, torn, gone };
  // The stacks of every thread (stacks is cleared first). torn: no consistent read of some thread after the
  // retries (the sample is not recorded; last_torn_reason() says why); gone: the process has exited.
  Read read_stacks(std::vector<ThreadStack>& stacks);
  bool initialized();  // the interpreter exists (before Py_Initialize there is nothing to sample)

  // When a thread gives no consistent read in kReadsPerThread tries (generator chains that change faster than a
  // read), stop that one thread for a moment (ptrace) and read it once more: exact, and rare enough to cost
  // little. Off by default (and pointless with --blocking, where the whole process is already stopped).
  void stop_thread_as_last_resort(bool on) { last_resort_ = on; }
  std::uint64_t retries_with_thread_stopped() const { return retries_with_thread_stopped_; }  // reads made with a thread stopped

  // Also copy the thread-state words at these offsets (-1: none) with each thread's frames, into
  // ThreadStack::words: what has to agree with the frames (--async: the running loop and task).
  void read_thread_words(int first, int second);

  // A frame as read, before its code object is resolved (also one outside any thread's chain: a suspended
  // coroutine's, for --async).
  struct RawFrame {
    std::uint64_t code;
    std::uint64_t instr;  // 3.11+: the instruction pointer; before: f_lasti
    std::uint64_t address;
    bool entry = false;      // 3.11: the first frame of an eval call (--native places Python runs by it)
    std::uint64_t shim = 0;  // 3.12+: the entry shim that ends this frame's run, 0 if none seen
  };
  // Resolves frames read elsewhere into out (innermost first, as given) with the walker's code cache; the reason
  // when a code object cannot be read.
  const char* resolve_frames(const std::vector<RawFrame>& raw, std::vector<FrameRef>& out);

  // Reads one thread's stack again (stack.tstate, stack.interp from read_stacks), its thread stopped by the caller
  // (--native reads it at the moment its native stack is unwound). nullptr, or why the read is not consistent.
  const char* read_stopped_thread(ThreadStack& stack);

  // The GIL as the last read_stacks saw it. On a GIL build only the thread holding the GIL changes Python frames,
  // so a read made while that thread was off its CPU, during which no other thread took the GIL, is one instant of
  // every thread (off_cpu.hpp). gil_thread_state: the main interpreter's holder, or its last holder when nobody
  // holds it (0 when not read).
  std::uint64_t gil_thread_state() const { return gil_thread_state_; }
  bool gil_locked() const { return gil_locked_; }  // the main interpreter's GIL was held
  // Reads the GIL words again (lock, holder, switch count, of every interpreter): true when they are as the last
  // read_stacks saw them.
  bool gil_unchanged();

  const std::string& last_torn_reason() const { return torn_reason_; }
  std::uint64_t retries() const { return retries_; }  // threads read again because a read was not consistent
  std::uint64_t samples() const { return sample_; }   // read_stacks calls
  // The most consistent reads per thread before a sample is given up (the first read and the retries).
  static constexpr int kReadsPerThread = 5;

 private:
  // A sample's copy is planned from what recent samples read: per thread, its thread state and (3.11, 3.12)
  // cframes, which hold the pointer to the innermost frame, then the frames its recent walks went through, by
  // depth from the thread's first frame.
  struct FrameSlot {
    std::uint64_t address;
    std::uint32_t depth;  // from the thread's first frame (shims counted)
    std::uint64_t used;   // the last sample that walked through it
  };
  struct ThreadPlan {
    std::vector<FrameSlot> frames;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> cframes;  // (address of cframe.current_frame, last used)
    std::uint64_t used = 0, rank = 0;  // the last sample that read the thread, and its place in the thread list
  };
  struct Structure {  // runtime and interpreter fields: list heads, the GIL
    std::uint64_t address;
    std::uint32_t size;
    std::uint64_t used;
  };
  struct Segment {  // bytes copied in this sample: [address, address + size) at store_[offset]
    std::uint64_t address, size;
    std::size_t offset;
  };
  using Copy = std::vector<Segment>;  // sorted by address
  struct Wanted {
    std::uint64_t address, size;
    Copy* into;
  };
  void take_snapshot();
  void plan_thread(std::uint64_t tstate, const ThreadPlan& plan, Copy* into);
  void copy_wanted();
  static void sort_copy(Copy& c);
  void refresh_thread(std::uint64_t tstate);
  void update_plan(std::uint64_t tstate, bool reached_first_frame);
  const unsigned char* volatile_read(std::uint64_t address, std::size_t size);
  const char* read_thread(std::uint64_t tstate, std::uint64_t interp, ThreadStack& out, std::uint64_t& next);
  const char* walk_chain(std::uint64_t frame, std::uint64_t base_frame);
  const char* read_again(ThreadStack& stack, std::uint64_t& next);  // one more read of a thread, planned afresh
  const char* resolve_codes(ThreadStack& out);
  CodeInfo* new_code_info(std::uint64_t code, const unsigned char* header);
  pid_t tid_of(std::uint64_t tstate, std::uint64_t serial, std::uint64_t thread_id);
  Read fail(const char* reason);
  static const char* const kListChanged;  // read_thread: the thread state is gone or moved

  MemoryReader& memory_;
  const PythonRuntime& rt_;
  PythonObjects objects_;
  pid_t pid_;
  int frame_read_size_ = 0, code_read_size_ = 0, tstate_read_size_ = 0;
  int thread_words_[2] = {-1, -1};
  std::uint64_t sample_ = 0, retries_ = 0, retries_with_thread_stopped_ = 0;
  bool last_resort_ = false;
  std::string torn_reason_;

  std::vector<Structure> structure_;
  std::unordered_map<std::uint64_t, ThreadPlan> plans_;  // by thread state address
  Copy structure_copy_;
  std::unordered_map<std::uint64_t, Copy> copies_;  // this sample's, by thread state address
  Copy* current_ = nullptr;                          // what the current reads come from
  std::vector<Wanted> wanted_;
  std::vector<unsigned char> store_;
  std::vector<std::uint64_t> walked_;  // the current walk: frame addresses, innermost first
  std::uint64_t cframe_at_ = 0;        // the current walk's cframe.current_frame address (3.11, 3.12)
  std::size_t misses_ = 0;             // reads of the current walk that were not in the copy
  std::uint64_t rank_ = 0;             // threads read so far in this sample

  struct GilWords {  // a GIL's lock, holder and switch count as read
    std::uint64_t address;
    std::uint32_t size;
    unsigned char bytes[32];
  };
  std::vector<GilWords> gil_words_;
  std::uint64_t gil_thread_state_ = 0;
  bool gil_locked_ = false;

  std::vector<RawFrame> raw_;
  std::unordered_set<std::uint64_t> visited_;
  std::unordered_map<std::uint64_t, std::unique_ptr<CodeInfo>> code_cache_;
  std::vector<std::uint64_t> to_check_;
  std::vector<unsigned char> headers_;
  std::vector<MemoryRange> ranges_;
  int tid_offset_ = -1;  // <= 3.10: offset of the kernel tid in glibc's struct pthread
  struct KnownTid {
    std::uint64_t tstate, serial;
    pid_t tid;
  };
  std::unordered_map<std::uint64_t, KnownTid> tids_;  // thread_id -> the thread state it was read for, and the tid
};

}  // namespace pyfold::record
