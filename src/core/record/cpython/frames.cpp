// The stack walk's frames: a thread's chain of frames, and each frame's code object and line.
#include "pyfold/record/cpython/stack_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pyfold/record/cpython/line_table.hpp"
#include "stack_walker_limits.hpp"

namespace pyfold::record {

using namespace walker;

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

}  // namespace pyfold::record
