// The stack walk's code objects: read once, cached by address.
#include "pyfold/record/cpython/stack_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack_walker_limits.hpp"

namespace pyfold::record {

using namespace walker;

const char* StackWalker::resolve_codes(ThreadStack& out) {
  const Layout& layout = rt_.layout;
  if (const char* problem = resolve_frames(raw_, out.frames)) return problem;
  if (layout.generator_code_flags && (out.frames.back().code->flags & layout.generator_code_flags))
    return "the walk did not reach the thread's first frame";
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

}  // namespace pyfold::record
