// The stack walk's thread states: every interpreter's threads read from the snapshot, the GIL's holder, and a
// stopped thread read again.
#include "pyfold/record/cpython/stack_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pyfold/record/os/thread_pauser.hpp"
#include "stack_walker_limits.hpp"

namespace pyfold::record {

using namespace walker;

StackWalker::Read StackWalker::read_stacks(std::vector<ThreadStack>& stacks) {
  ++sample_;
  if (code_cache_.size() >= kMaxCodeCache) code_cache_.clear();  // no stack holds a CodeInfo* between samples
  const GeneratedLayout& o = rt_.layout.offsets;
  for (int attempt = 0;; ++attempt) {
    std::size_t used = 0;  // stacks filled; the vector keeps the others (and their frames' capacity) for reuse
    if (attempt) ++retries_;
    take_snapshot();
    rank_ = 0;
    const char* list_problem = nullptr;
    // Structure reads mark what they use, so that the next copies keep it.
    auto structure_read = [&](std::uint64_t address, std::size_t size) -> const unsigned char* {
      current_ = &structure_copy_;
      for (Structure& r : structure_)
        if (r.address == address) r.used = sample_;
      return volatile_read(address, size);
    };
    const unsigned char* p = structure_read(rt_.runtime + o.runtime_interpreters_head, 8);
    if (!p) return fail("runtime unreadable");
    std::uint64_t interp = u64_at(p, 0), gil_holder = 0;
    gil_words_.clear();
    gil_thread_state_ = 0;
    gil_locked_ = false;
    // <= 3.11 keep the GIL in the runtime; 3.12+ in each interpreter (the main one last in the list). Every
    // version's _gil_runtime_state has `int locked; unsigned long switch_number;` side by side: the count is 8 bytes
    // after the lock.
    auto read_gil = [&](std::uint64_t base, int locked_at, int holder_at) {
      int lo = std::min(locked_at, holder_at), span = std::max(locked_at + 8, holder_at) - lo + 8;
      const unsigned char* g = structure_read(base + lo, span);
      if (!g) return;
      int locked;
      std::memcpy(&locked, g + (locked_at - lo), sizeof locked);
      gil_holder = locked ? u64_at(g, holder_at - lo) : 0;
      gil_thread_state_ = u64_at(g, holder_at - lo);
      gil_locked_ = locked != 0;
      if (static_cast<std::size_t>(span) <= sizeof(GilWords::bytes)) {
        GilWords w{base + lo, static_cast<std::uint32_t>(span), {}};
        std::memcpy(w.bytes, g, span);
        gil_words_.push_back(w);
      }
    };
    if (o.runtime_gil_locked >= 0) read_gil(rt_.runtime, o.runtime_gil_locked, o.runtime_gil_last_holder);
    for (std::size_t n = 0; interp != 0 && !list_problem; ++n) {
      if (n >= kMaxInterpreters) return fail("too many interpreters");
      if (o.interp_gil_locked >= 0) read_gil(interp, o.interp_gil_locked, o.interp_gil_last_holder);
      if (!(p = structure_read(interp + o.interp_threads_head, 8))) return fail("interpreter unreadable");
      std::uint64_t tstate = u64_at(p, 0);
      for (std::size_t t = 0; tstate != 0; ++t) {
        if (t >= kMaxThreads) return fail("too many thread states");
        if (used == stacks.size()) stacks.emplace_back();
        ThreadStack& stack = stacks[used++];
        stack = ThreadStack{{}, {}, {}, {}, {}, {}, std::move(stack.frames), {}};
        std::uint64_t next = 0;
        const char* problem = nullptr;
        ++rank_;
        for (int tries = 0; tries < kReadsPerThread; ++tries) {
          if (tries) ++retries_, refresh_thread(tstate);
          current_ = &copies_[tstate];
          misses_ = 0;
          walked_.clear();
          cframe_at_ = 0;
          stack.frames.clear();
          problem = read_thread(tstate, interp, stack, next);
          if (problem == kListChanged || memory_.last_error() == ESRCH) break;  // whole sample again, or gone
          update_plan(tstate, !problem);
          // A walk that read beyond the copy mixed two moments: read again (all it needs is in the plan now).
          if (!problem && (misses_ == 0 || tries + 1 == kReadsPerThread)) break;
        }
        if (problem && problem != kListChanged && last_resort_ && stack.tid > 0 &&
            memory_.last_error() != ESRCH) {
          ThreadPauser pauser(pid_);
          if (pauser.pause_thread(stack.tid)) {
            ++retries_, ++retries_with_thread_stopped_;
            problem = read_again(stack, next);
          }
        }  // the thread runs again here
        if (problem == kListChanged) {
          list_problem = problem;
          break;
        }
        if (problem) return fail(problem);
        stack.holds_gil = gil_holder == tstate;
        tstate = next;
      }
      if (list_problem) break;
      if (!(p = structure_read(interp + o.interp_next, 8))) return fail("interpreter list unreadable");
      interp = u64_at(p, 0);
    }
    if (!list_problem) {
      // <= 3.10: the tid's place in struct pthread is learnt from the main thread, which comes last in the list.
      stacks.resize(used);
      for (ThreadStack& t : stacks)
        if (t.tid == 0 && t.thread_id != 0 && tid_offset_ >= 0) t.tid = tid_of(t.tstate, t.serial, t.thread_id);
      return Read::ok;
    }
    if (attempt + 1 >= kReadsPerThread) return fail(list_problem);
  }
}

bool StackWalker::gil_unchanged() {
  if (gil_words_.empty()) return false;
  unsigned char now[32];
  for (const GilWords& w : gil_words_)
    if (!memory_.read(w.address, now, w.size) || std::memcmp(now, w.bytes, w.size) != 0) return false;
  return true;
}

const char* const StackWalker::kListChanged = "the thread list changed during the read";

const char* StackWalker::read_again(ThreadStack& stack, std::uint64_t& next) {
  const std::uint64_t tstate = stack.tstate, interp = stack.interp;
  refresh_thread(tstate);
  current_ = &copies_[tstate];
  misses_ = 0;
  walked_.clear();
  cframe_at_ = 0;
  stack.frames.clear();
  const char* problem = read_thread(tstate, interp, stack, next);
  if (problem != kListChanged) update_plan(tstate, !problem);
  return problem;
}

const char* StackWalker::read_stopped_thread(ThreadStack& stack) {
  std::uint64_t next = 0;
  bool gil = stack.holds_gil;
  const char* problem = read_again(stack, next);
  stack.holds_gil = gil;
  return problem;
}

const char* StackWalker::read_thread(std::uint64_t tstate, std::uint64_t interp, ThreadStack& out,
                                     std::uint64_t& next) {
  const GeneratedLayout& o = rt_.layout.offsets;
  const Layout& layout = rt_.layout;
  const unsigned char* t = volatile_read(tstate, tstate_read_size_);
  if (!t || u64_at(t, o.tstate_interp) != interp) return kListChanged;
  next = u64_at(t, o.tstate_next);
  out.tstate = tstate;
  for (int i = 0; i < 2; ++i) out.words[i] = thread_words_[i] >= 0 ? u64_at(t, thread_words_[i]) : 0;
  out.interp = interp;
  out.thread_id = u64_at(t, o.tstate_thread_id);
  out.serial = o.tstate_id >= 0 ? u64_at(t, o.tstate_id) : 0;
  std::uint64_t frame = u64_at(t, o.tstate_frame);
  // 3.15+: the frame the thread state embeds, where every walk of the thread's chain ends.
  const std::uint64_t base_frame = layout.tstate_base_frame >= 0 ? u64_at(t, layout.tstate_base_frame) : 0;
  out.tid = o.tstate_native_thread_id >= 0 ? static_cast<pid_t>(u64_at(t, o.tstate_native_thread_id) & 0xffffffff)
                                           : tid_of(tstate, out.serial, out.thread_id);
  if (o.cframe_current_frame >= 0) {  // 3.11, 3.12: tstate -> cframe (on the C stack) -> current frame
    if (frame == 0) return nullptr;
    cframe_at_ = frame + o.cframe_current_frame;
    const unsigned char* c = volatile_read(cframe_at_, 8);
    if (!c) return "cframe unreadable";
    frame = u64_at(c, 0);
  }
  const char* problem = walk_chain(frame, base_frame);
  // 3.11, 3.12: a thread entering _PyEval_EvalFrameDefault points tstate->cframe at its new cframe a few stores
  // before it sets that cframe's current_frame: until then the word holds whatever the C stack held. The walk
  // from it fails (it was read whole, so this is no torn read); the caller's chain, from the previous cframe, is
  // the stack at that moment (the new function has not started).
  if (problem && cframe_at_ && o.cframe_previous >= 0) {
    const unsigned char* c = volatile_read(cframe_at_ - o.cframe_current_frame + o.cframe_previous, 8);
    const std::uint64_t previous = c ? u64_at(c, 0) : 0;  // 0: the thread's first cframe
    const unsigned char* p = previous ? volatile_read(previous + o.cframe_current_frame, 8) : nullptr;
    if (p) {
      walked_.clear();
      if (!walk_chain(u64_at(p, 0), base_frame)) problem = nullptr;
    }
  }
  if (problem || raw_.empty()) return problem;
  return resolve_codes(out);
}

// Walks the frame chain from frame (innermost first) into raw_ and walked_; nullptr, or why the walk is not a
// whole stack.
pid_t StackWalker::tid_of(std::uint64_t tstate, std::uint64_t serial, std::uint64_t thread_id) {
  // <= 3.10: thread_id is glibc's pthread_t (the address of its struct pthread), whose tid field we locate once:
  // the offset where the main thread's struct holds the process id (glibc 2.36 x86-64: 720). A new thread may get
  // an ended one's pthread_t and thread state both: the tid is kept for that thread state's serial only.
  if (thread_id == 0) return 0;
  auto known = tids_.find(thread_id);
  if (known != tids_.end() && known->second.tstate == tstate && known->second.serial == serial)
    return known->second.tid;
  if (tid_offset_ < 0) {
    int values[512];
    if (!memory_.read(thread_id, values, sizeof values)) return 0;
    std::vector<int> hits;
    for (int i = 0; i < 512; ++i)
      if (values[i] == pid_) hits.push_back(i * 4);
    if (hits.empty()) return 0;  // not the main thread: try again with the next one
    tid_offset_ = std::find(hits.begin(), hits.end(), 720) != hits.end() ? 720 : hits.front();
  }
  int tid = 0;
  if (!memory_.read_value(thread_id + tid_offset_, tid)) return 0;
  if (tids_.size() > 4 * kMaxThreads) tids_.clear();
  tids_[thread_id] = {tstate, serial, tid};
  return tid;
}

}  // namespace pyfold::record
