// Snapshot reads of every thread's Python stack: runtime -> interpreters -> thread states -> frames, then code objects.
#include "pyfold/record/stack_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pyfold/record/line_table.hpp"
#include "pyfold/record/thread_pauser.hpp"

namespace pyfold::record {

namespace {

constexpr std::size_t kMaxDepth = 1 << 16;  // frames per thread
constexpr std::size_t kMaxThreads = 4096;    // thread states per interpreter
constexpr std::size_t kMaxInterpreters = 256;
constexpr std::size_t kMaxCodeCache = 1 << 16;
constexpr std::uint64_t kPage = 4096;
// A prefetched range not used for this many samples is dropped; the list is capped in entries and bytes.
constexpr std::uint64_t kKeepSamples = 64;
constexpr std::size_t kMaxRanges = 8192;
constexpr std::size_t kMaxCframes = 64;  // per thread: the C stack places a thread's cframe was found at
constexpr std::uint64_t kMaxRun = 256 << 10;  // the largest range of frames copied as one
constexpr int kFrameBuffer = 512;
constexpr std::uint64_t kUserSpaceEnd = std::uint64_t{1} << 47;  // the bytes of a frame the walk copies

std::uint64_t u64_at(const unsigned char* p, int offset) {
  std::uint64_t v;
  std::memcpy(&v, p + offset, 8);
  return v;
}

int max_offset(std::initializer_list<int> offsets) {
  int m = 0;
  for (int o : offsets) m = std::max(m, o);
  return m + 8;
}

}  // namespace

StackWalker::StackWalker(MemoryReader& memory, const PythonRuntime& runtime, pid_t pid)
    : memory_(memory), rt_(runtime), objects_(memory, runtime), pid_(pid) {
  const GeneratedLayout& o = rt_.layout.offsets;
  frame_read_size_ = max_offset({o.frame_previous, o.frame_code, o.frame_instr, o.frame_owner});
  code_read_size_ = max_offset({rt_.layout.object_type, o.code_firstlineno, o.code_flags, o.code_filename,
                                o.code_name, o.code_qualname, o.code_linetable});
  tstate_read_size_ = max_offset({o.tstate_next, o.tstate_interp, o.tstate_frame, o.tstate_thread_id,
                                  o.tstate_native_thread_id, rt_.layout.tstate_base_frame});
}

bool StackWalker::layout_fits(const Layout& layout) {
  const GeneratedLayout& o = layout.offsets;
  int frame = max_offset({o.frame_previous, o.frame_code, o.frame_instr, o.frame_owner});
  int code = max_offset({layout.object_type, o.code_firstlineno, o.code_flags, o.code_filename, o.code_name,
                         o.code_qualname, o.code_linetable});
  int tstate = max_offset({o.tstate_next, o.tstate_interp, o.tstate_frame, o.tstate_thread_id,
                           o.tstate_native_thread_id, layout.tstate_base_frame});
  return frame <= kFrameBuffer && tstate <= 4096 && code <= 256 && o.unicode_compact_size <= 128 &&
         o.unicode_state + 4 <= o.unicode_ascii_size && o.bytes_sval <= 64 &&
         o.unicode_length + 8 <= o.unicode_compact_size && o.bytes_size + 8 <= o.bytes_sval &&
         (o.frame_owner < 0 || o.frame_owner < frame);
}

void StackWalker::read_thread_words(int first, int second) {
  thread_words_[0] = first, thread_words_[1] = second;
  for (int at : thread_words_)
    if (at >= 0) tstate_read_size_ = std::max(tstate_read_size_, at + 8);
}

bool StackWalker::initialized() {
  std::uint64_t head = 0;
  return memory_.read_value(rt_.runtime + rt_.layout.offsets.runtime_interpreters_head, head) && head != 0;
}

StackWalker::Read StackWalker::fail(const char* reason) {
  torn_reason_ = reason;
  return memory_.last_error() == ESRCH ? Read::gone : Read::torn;
}

// Plans this sample's copy from what recent samples read (forgetting what they did not use), and copies it.
void StackWalker::take_snapshot() {
  std::size_t kept = 0;
  for (const Structure& r : structure_)
    if (r.used + kKeepSamples >= sample_ && kept < kMaxRanges) structure_[kept++] = r;
  structure_.resize(kept);
  for (auto it = plans_.begin(); it != plans_.end();)
    it = it->second.used + kKeepSamples < sample_ ? plans_.erase(it) : std::next(it);

  wanted_.clear();
  structure_copy_.clear();
  copies_.clear();
  store_.clear();
  for (const Structure& r : structure_) wanted_.push_back({r.address, r.size, &structure_copy_});
  std::vector<std::pair<std::uint64_t, std::uint64_t>> threads;  // (rank, tstate)
  for (const auto& [tstate, plan] : plans_) threads.emplace_back(plan.rank, tstate);
  std::sort(threads.begin(), threads.end());
  for (const auto& [rank, tstate] : threads) plan_thread(tstate, plans_[tstate], &copies_[tstate]);
  copy_wanted();
}

// A thread's ranges, in copy order: its thread state and cframes (the pointer to the innermost frame), then its
// frames, as runs of nearby frames (the data stack's frames side by side, shims side by side on the C stack), the
// run holding the innermost frame first, so that it is copied right after the pointer to it.
void StackWalker::plan_thread(std::uint64_t tstate, const ThreadPlan& plan, Copy* into) {
  struct Run {
    std::uint64_t start, end;
    std::uint32_t depth;  // of its innermost frame
  };
  std::vector<FrameSlot> frames;
  for (const FrameSlot& f : plan.frames)
    if (f.used + kKeepSamples >= sample_) frames.push_back(f);
  std::sort(frames.begin(), frames.end(), [](const FrameSlot& a, const FrameSlot& b) { return a.address < b.address; });
  const std::uint64_t size = static_cast<std::uint64_t>(frame_read_size_);
  std::vector<Run> runs;
  for (const FrameSlot& f : frames) {
    if (!runs.empty() && f.address < runs.back().end + kPage && f.address + size - runs.back().start <= kMaxRun) {
      runs.back().end = std::max(runs.back().end, f.address + size);
      runs.back().depth = std::max(runs.back().depth, f.depth);
    } else {
      runs.push_back({f.address, f.address + size, f.depth});
    }
  }
  // The pointer to the innermost frame first, then the frames it leads to.
  wanted_.push_back({tstate, static_cast<std::uint64_t>(tstate_read_size_), into});
  for (const auto& [address, used] : plan.cframes)
    if (used + kKeepSamples >= sample_) wanted_.push_back({address, 8, into});
  std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.depth > b.depth; });
  for (const Run& r : runs) wanted_.push_back({r.start, r.end - r.start, into});
}

// Copies wanted_ in one read_many (a range that cannot be read is skipped) into segments of each copy.
void StackWalker::copy_wanted() {
  std::size_t base = store_.size(), total = 0;
  for (const Wanted& w : wanted_) total += w.size;
  store_.resize(base + total);
  ranges_.clear();
  std::size_t at = base;
  for (const Wanted& w : wanted_) {
    ranges_.push_back({w.address, store_.data() + at, w.size});
    at += w.size;
  }
  std::vector<bool> ok(ranges_.size(), false);
  for (std::size_t done = 0; done < ranges_.size();) {
    std::size_t got = memory_.read_many(ranges_.data() + done, ranges_.size() - done);
    for (std::size_t i = done; i < done + got; ++i) ok[i] = true;
    done += got;
    if (done < ranges_.size()) {
      if (memory_.last_error() == ESRCH) break;  // gone: serve nothing
      ++done;  // unreadable now (freed, unmapped): read live if a walk needs it
    }
  }
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (!ok[i]) continue;
    Copy& c = *wanted_[i].into;
    c.push_back({wanted_[i].address, wanted_[i].size,
                 static_cast<std::size_t>(static_cast<unsigned char*>(ranges_[i].out) - store_.data())});
  }
  sort_copy(structure_copy_);
  for (auto& [tstate, c] : copies_) sort_copy(c);
}

// Sorts a copy by address and drops each segment that another one holds whole (a cframe inside a run of frames
// on the C stack): the ends then rise with the starts, so the last segment starting at or below an address is the
// only one volatile_read needs to look at.
void StackWalker::sort_copy(Copy& c) {
  std::sort(c.begin(), c.end(), [](const Segment& a, const Segment& b) {
    return a.address != b.address ? a.address < b.address : a.size > b.size;
  });
  std::uint64_t end = 0;
  c.erase(std::remove_if(c.begin(), c.end(),
                         [&](const Segment& s) {
                           if (s.address + s.size <= end) return true;
                           end = s.address + s.size;
                           return false;
                         }),
          c.end());
}

// Copies one thread's ranges again (for a retry), planned with what its last walk added.
void StackWalker::refresh_thread(std::uint64_t tstate) {
  wanted_.clear();
  Copy& c = copies_[tstate];
  c.clear();
  plan_thread(tstate, plans_[tstate], &c);
  copy_wanted();
}

// Records what the current walk read, for the next copies: its frames by depth (known when the walk reached the
// thread's first frame; otherwise put above the known ones), and its cframe.
void StackWalker::update_plan(std::uint64_t tstate, bool reached_first_frame) {
  ThreadPlan& plan = plans_[tstate];
  plan.used = sample_;
  plan.rank = rank_;
  if (cframe_at_) {
    auto it = std::find_if(plan.cframes.begin(), plan.cframes.end(), [&](const auto& c) { return c.first == cframe_at_; });
    if (it != plan.cframes.end()) {
      it->second = sample_;
    } else if (plan.cframes.size() < kMaxCframes) {
      plan.cframes.emplace_back(cframe_at_, sample_);
    } else {  // full of what earlier phases of the program used: the least recently used one makes room
      *std::min_element(plan.cframes.begin(), plan.cframes.end(),
                        [](const auto& a, const auto& b) { return a.second < b.second; }) = {cframe_at_, sample_};
    }
  }
  std::uint32_t unknown_base = 0;
  if (!reached_first_frame)
    for (const FrameSlot& f : plan.frames) unknown_base = std::max(unknown_base, f.depth + 1);
  // A walk that failed may have followed a stale pointer into anything: keep only its innermost frames.
  const std::size_t n = reached_first_frame ? walked_.size() : std::min<std::size_t>(walked_.size(), 64);
  std::unordered_map<std::uint64_t, std::size_t> index;
  index.reserve(plan.frames.size());
  for (std::size_t i = 0; i < plan.frames.size(); ++i) index.emplace(plan.frames[i].address, i);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t depth = reached_first_frame ? static_cast<std::uint32_t>(n - 1 - i)
                                              : unknown_base + static_cast<std::uint32_t>(n - 1 - i);
    auto it = index.find(walked_[i]);
    if (it != index.end()) {
      FrameSlot& f = plan.frames[it->second];
      f.used = sample_;
      if (reached_first_frame) f.depth = depth;
    } else if (plan.frames.size() < kMaxRanges) {
      index.emplace(walked_[i], plan.frames.size());
      plan.frames.push_back({walked_[i], depth, sample_});
    }
  }
  // Keep the list short: drop what recent samples did not use.
  if (plan.frames.size() > 2 * n + 64)
    plan.frames.erase(std::remove_if(plan.frames.begin(), plan.frames.end(),
                                     [&](const FrameSlot& f) { return f.used + kKeepSamples < sample_; }),
                      plan.frames.end());
}

// size bytes at address from this sample's copy for the current reads; a range not in it is read now (live: a
// miss) and kept in the copy. The pointer is valid until the next call.
const unsigned char* StackWalker::volatile_read(std::uint64_t address, std::size_t size) {
  Copy& c = *current_;
  auto it = std::upper_bound(c.begin(), c.end(), address,
                             [](std::uint64_t a, const Segment& s) { return a < s.address; });
  for (int back = 0; back < 8 && it != c.begin(); ++back) {
    --it;
    if (address >= it->address && address + size <= it->address + it->size)
      return store_.data() + it->offset + (address - it->address);
  }
  ++misses_;
  std::size_t at = store_.size();
  store_.resize(at + size);
  if (!memory_.read(address, store_.data() + at, size)) {
    store_.resize(at);
    return nullptr;
  }
  if (current_ == &structure_copy_) {
    if (structure_.size() < kMaxRanges) structure_.push_back({address, static_cast<std::uint32_t>(size), sample_});
  }
  Segment s{address, size, at};
  c.insert(std::upper_bound(c.begin(), c.end(), address,
                            [](std::uint64_t a, const Segment& x) { return a < x.address; }),
           s);
  return store_.data() + at;
}

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
        stack = ThreadStack{{}, {}, {}, {}, {}, std::move(stack.frames), {}};
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
            ++retries_, ++stopped_reads_;
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
        if (t.tid == 0 && t.thread_id != 0 && tid_offset_ >= 0) t.tid = tid_of(t.tstate, t.thread_id);
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
  std::uint64_t frame = u64_at(t, o.tstate_frame);
  // 3.15+: the frame the thread state embeds, where every walk of the thread's chain ends.
  const std::uint64_t base_frame = layout.tstate_base_frame >= 0 ? u64_at(t, layout.tstate_base_frame) : 0;
  out.tid = o.tstate_native_thread_id >= 0 ? static_cast<pid_t>(u64_at(t, o.tstate_native_thread_id) & 0xffffffff)
                                           : tid_of(tstate, out.thread_id);
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
const char* StackWalker::walk_chain(std::uint64_t frame, std::uint64_t base_frame) {
  const GeneratedLayout& o = rt_.layout.offsets;
  const Layout& layout = rt_.layout;
  raw_.clear();
  visited_.clear();
  bool ended_at_shim = false;
  int last_owner = -1;
  unsigned char f[kFrameBuffer];
  while (frame != 0) {
    if (walked_.size() >= kMaxDepth) return "stack deeper than 65536 frames";
    // Frames are 8-byte aligned, in user space (x86-64: below 2**47).
    if ((frame & 7) || frame >= kUserSpaceEnd) return "a frame pointer that is not one";
    if (!visited_.insert(frame).second) return "a cycle in the frame chain";
    const unsigned char* bytes = volatile_read(frame, frame_read_size_);
    if (!bytes) return "frame unreadable";
    walked_.push_back(frame);  // only frames that could be read go into the plan
    std::memcpy(f, bytes, frame_read_size_);
    // <= 3.10: a frame object read after its function returned is on a free list (or its code's zombie frame),
    // with a reference count of 0 and f_back linking the free list: following it would write a stack cut from
    // its first frames (`fib;fib;fib`) as if it were whole.
    if (!layout.interpreter_frames && static_cast<std::int64_t>(u64_at(f, 0)) <= 0) return "a frame that was freed";
    std::uint64_t previous = u64_at(f, o.frame_previous);
    int owner = o.frame_owner >= 0 ? f[o.frame_owner] : -1;
    if (owner > 7) return "a frame pointer that is not one";  // owners are 0-4 in every version
    if (layout.skip_owner_from >= 0 && owner >= layout.skip_owner_from) {  // a shim: no Python code
      ended_at_shim = previous == 0;
      if (!raw_.empty() && !raw_.back().shim) {  // the frame before it began a _PyEval_EvalFrameDefault call
        raw_.back().entry = true;
        raw_.back().shim = frame;
      }
      frame = previous;
      continue;
    }
    ended_at_shim = false;
    std::uint64_t instr;
    if (layout.interpreter_frames) {
      instr = u64_at(f, o.frame_instr);
    } else {
      int lasti;
      std::memcpy(&lasti, f + o.frame_instr, sizeof lasti);
      instr = static_cast<std::uint64_t>(static_cast<std::int64_t>(lasti));
    }
    const std::uint64_t code = u64_at(f, o.frame_code) & layout.code_pointer_mask;
    bool entry = layout.frame_is_entry >= 0 ? f[layout.frame_is_entry] != 0 : !layout.interpreter_frames;
    // 3.11: _PyEval_EvalFrameDefault stores `cframe.current_frame = frame` and `frame->is_entry = true` in the
    // order its compiler chose (Debian's static build: the frame first), so a frame caught entering its eval call
    // may not say it begins one yet. It has not run an instruction (prev_instr is still before its first): it
    // begins the innermost eval call, or is a Python call about to start, which --native places innermost either way.
    if (layout.frame_is_entry >= 0 && instr < code + static_cast<std::uint64_t>(o.code_code)) entry = true;
    raw_.push_back({code, instr, frame, entry, 0});
    last_owner = owner;
    frame = previous;
  }
  if (raw_.empty()) return nullptr;
  // A walk must reach the thread's first frame: a generator's frame read just after it yielded has no previous
  // frame, and the stack below it would be lost.
  if ((layout.walk_ends_at_shim && !ended_at_shim) || (base_frame && walked_.back() != base_frame) ||
      (layout.generator_owner >= 0 && last_owner == layout.generator_owner))
    return "the walk did not reach the thread's first frame";
  return nullptr;
}

// The code objects of raw_: checked against the target once per sample (one read_many for the thread), read whole
// when new or changed; then each frame's line.
const char* StackWalker::resolve_codes(ThreadStack& out) {
  const Layout& layout = rt_.layout;
  if (const char* problem = resolve_frames(raw_, out.frames)) return problem;
  if (layout.generator_code_flags && (out.frames.back().code->flags & layout.generator_code_flags))
    return "the walk did not reach the thread's first frame";
  return nullptr;
}

const char* StackWalker::resolve_frames(const std::vector<RawFrame>& raw, std::vector<FrameRef>& out) {
  const GeneratedLayout& o = rt_.layout.offsets;
  const Layout& layout = rt_.layout;
  to_check_.clear();
  for (const RawFrame& r : raw) {
    auto it = code_cache_.find(r.code);
    if ((it == code_cache_.end() || it->second->checked_in_sample != sample_) &&
        std::find(to_check_.begin(), to_check_.end(), r.code) == to_check_.end())
      to_check_.push_back(r.code);
  }
  if (!to_check_.empty()) {
    headers_.resize(to_check_.size() * static_cast<std::size_t>(code_read_size_));
    ranges_.clear();
    for (std::size_t i = 0; i < to_check_.size(); ++i)
      ranges_.push_back({to_check_[i], headers_.data() + i * code_read_size_, static_cast<std::size_t>(code_read_size_)});
    std::size_t got = memory_.read_many(ranges_.data(), ranges_.size());
    if (got < ranges_.size()) return "code object unreadable";
    for (std::size_t i = 0; i < to_check_.size(); ++i) {
      const unsigned char* h = headers_.data() + i * code_read_size_;
      if (u64_at(h, layout.object_type) != rt_.code_type) return "not a code object";
      auto it = code_cache_.find(to_check_[i]);
      if (it != code_cache_.end()) {
        CodeInfo& c = *it->second;
        int first_line;
        std::memcpy(&first_line, h + o.code_firstlineno, sizeof first_line);
        std::uint64_t name = u64_at(h, o.code_qualname >= 0 ? o.code_qualname : o.code_name);
        if (c.filename_ptr == u64_at(h, o.code_filename) && c.name_ptr == name &&
            c.table_ptr == u64_at(h, o.code_linetable) && c.first_line == first_line) {
          c.checked_in_sample = sample_;
          continue;
        }
      }
      if (!new_code_info(to_check_[i], h)) return "code object strings unreadable";
    }
  }
  out.clear();
  for (const RawFrame& r : raw) {
    CodeInfo* info = code_cache_[r.code].get();
    if (info->init_cleanup) {
      // Its run (--native) begins with the frame it called, if that is where its own began.
      if (r.entry && !out.empty() && !out.back().entry) out.back().entry = true, out.back().shim = r.shim;
      continue;
    }
    long offset = layout.interpreter_frames
                      ? static_cast<long>(r.instr - (r.code + static_cast<std::uint64_t>(o.code_code)))
                      : (layout.lasti_in_code_units ? 2L : 1L) * static_cast<long>(static_cast<std::int64_t>(r.instr));
    auto found = info->lines.find(offset);
    int line;
    if (found != info->lines.end()) {
      line = found->second;
    } else {
      line = line_for(layout.line_table, info->line_table, info->first_line, offset);
      // No line for the offset: the frame has not run its first instruction yet (it is at its first line).
      if (line <= 0) line = info->first_line;
      if (info->lines.size() < 4096) info->lines.emplace(offset, line);
    }
    out.push_back(FrameRef{info, line, r.address, r.entry, r.shim});
  }
  return nullptr;
}

CodeInfo* StackWalker::new_code_info(std::uint64_t code, const unsigned char* h) {
  const GeneratedLayout& o = rt_.layout.offsets;
  auto info = std::make_unique<CodeInfo>();
  std::memcpy(&info->first_line, h + o.code_firstlineno, sizeof info->first_line);
  if (o.code_flags >= 0) std::memcpy(&info->flags, h + o.code_flags, sizeof info->flags);
  info->filename_ptr = u64_at(h, o.code_filename);
  info->name_ptr = u64_at(h, o.code_qualname >= 0 ? o.code_qualname : o.code_name);
  info->table_ptr = u64_at(h, o.code_linetable);
  info->checked_in_sample = sample_;
  if (!objects_.read_string(info->filename_ptr, info->filename) || !objects_.read_string(info->name_ptr, info->name) ||
      !objects_.read_bytes(info->table_ptr, info->line_table))
    return nullptr;
  // (a static code object: named __init__ in file __init__, at line 0, which no compiled source can be)
  info->init_cleanup = info->filename == "__init__" && info->name == "__init__" && info->first_line == 0;
  auto& slot = code_cache_[code];
  slot = std::move(info);
  return slot.get();
}

pid_t StackWalker::tid_of(std::uint64_t tstate, std::uint64_t thread_id) {
  // <= 3.10: thread_id is glibc's pthread_t (the address of its struct pthread), whose tid field we locate once:
  // the offset where the main thread's struct holds the process id (glibc 2.36 x86-64: 720).
  if (thread_id == 0) return 0;
  auto known = tids_.find(thread_id);
  if (known != tids_.end() && known->second.first == tstate) return known->second.second;
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
  tids_[thread_id] = {tstate, tid};
  return tid;
}

}  // namespace pyfold::record
