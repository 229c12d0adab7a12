// Snapshot reads of every thread's Python stack (runtime -> interpreters -> thread states -> frames, then code
// objects): the walker's set-up and its memory snapshot (the ranges copied whole each sample). The walk itself is
// in threads.cpp (thread states), frames.cpp (frame chains) and code_objects.cpp, as CPython's _remote_debugging.
#include "pyfold/record/cpython/stack_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pyfold/record/cpython/line_table.hpp"
#include "pyfold/record/os/thread_pauser.hpp"
#include "stack_walker_limits.hpp"

namespace pyfold::record {

using namespace walker;

StackWalker::StackWalker(MemoryReader& memory, const PythonRuntime& runtime, pid_t pid)
    : memory_(memory), rt_(runtime), objects_(memory, runtime), pid_(pid) {
  const GeneratedLayout& o = rt_.layout.offsets;
  frame_read_size_ = max_offset({o.frame_previous, o.frame_code, o.frame_instr, o.frame_owner});
  code_read_size_ = max_offset({rt_.layout.object_type, o.code_firstlineno, o.code_flags, o.code_filename,
                                o.code_name, o.code_qualname, o.code_linetable});
  tstate_read_size_ = max_offset({o.tstate_next, o.tstate_interp, o.tstate_frame, o.tstate_thread_id,
                                  o.tstate_native_thread_id, rt_.layout.tstate_base_frame, o.tstate_id});
}

bool StackWalker::layout_fits(const Layout& layout) {
  const GeneratedLayout& o = layout.offsets;
  int frame = max_offset({o.frame_previous, o.frame_code, o.frame_instr, o.frame_owner});
  int code = max_offset({layout.object_type, o.code_firstlineno, o.code_flags, o.code_filename, o.code_name,
                         o.code_qualname, o.code_linetable});
  int tstate = max_offset({o.tstate_next, o.tstate_interp, o.tstate_frame, o.tstate_thread_id,
                           o.tstate_native_thread_id, layout.tstate_base_frame, o.tstate_id});
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

}  // namespace pyfold::record
