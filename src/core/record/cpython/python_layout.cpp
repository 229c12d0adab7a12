// Per-version layouts: the generated table for 3.8-3.12, the target's _Py_DebugOffsets for 3.13 to 3.15.
#include "pyfold/record/cpython/python_layout.hpp"

#include <cstring>
#include <stdexcept>

namespace pyfold::record {

namespace {
void set_version_constants(Layout& layout, int minor) {
  layout.line_table = minor <= 9 ? LineTableKind::lnotab
                      : minor == 10 ? LineTableKind::linetable310
                                    : LineTableKind::location_table;
  layout.interpreter_frames = minor >= 11;
  layout.lasti_in_code_units = minor == 10;
  // Frames without Python code (generated from the headers' _frameowner): FRAME_OWNED_BY_CSTACK = 3 in 3.12 and
  // 3.13; from 3.14 FRAME_OWNED_BY_INTERPRETER = 3 (the entry frame of each _PyEval_EvalFrameDefault call, and in
  // 3.15 the thread's base frame, whose f_executable is None), with CSTACK = 4 in 3.14 only. 3.11 marks entries
  // with is_entry and has no such frames.
  // From 3.14 f_executable is a _PyStackRef: Py_TAG_BITS mark deferred or immortal references.
  for (std::size_t i = 0; i < kVersionConstantCount; ++i) {
    if (kVersionConstants[i].minor != minor) continue;
    layout.skip_owner_from = kVersionConstants[i].skip_owner_from;
    layout.code_pointer_mask = ~static_cast<std::uint64_t>(kVersionConstants[i].tag_bits);
    layout.coroutines.yield_from = kVersionConstants[i].frame_yield_from;
    layout.coroutines.yield_from_locked = kVersionConstants[i].frame_yield_from_locked;
    layout.coroutines.executing = kVersionConstants[i].frame_executing;
    layout.coroutines.cleared = kVersionConstants[i].frame_cleared;
  }
  layout.coroutines.awaited_slot = minor == 14 ? 1 : minor >= 15 ? 2 : 0;
  layout.walk_ends_at_shim = minor >= 12;
  // 3.11's _PyInterpreterFrame: `bool is_entry; char owner;` (Include/internal/pycore_frame.h).
  layout.frame_is_entry = minor == 11 && layout.offsets.frame_owner > 0 ? layout.offsets.frame_owner - 1 : -1;
  layout.generator_owner = minor >= 11 ? 1 : -1;  // FRAME_OWNED_BY_GENERATOR
  layout.generator_code_flags = minor <= 10 ? 0x20 | 0x80 | 0x200 : 0;  // CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR
}

std::runtime_error not_supported(int major, int minor) {
  return std::runtime_error("CPython " + std::to_string(major) + "." + std::to_string(minor) +
                            " is not supported (supported: " + kSupportedPythons + ")");
}

// The field positions and the missing constants of each minor version read through _Py_DebugOffsets.
struct DebugOffsetsVersion {
  int minor;
  const DebugOffsetsFields& fields;
  const GeneratedLayout& constants;
};
const DebugOffsetsVersion kDebugOffsetsVersions[] = {
    {13, kDebugOffsets313, kConstants313},
    {14, kDebugOffsets314, kConstants314},
    {15, kDebugOffsets315, kConstants315},
};
}  // namespace

Layout layout_for_minor(int minor) {
  for (std::size_t i = 0; i < kGeneratedLayoutCount; ++i) {
    if (kGeneratedLayouts[i].minor != minor) continue;
    Layout layout;
    layout.offsets = kGeneratedLayouts[i];
    set_version_constants(layout, minor);
    return layout;
  }
  for (const DebugOffsetsVersion& v : kDebugOffsetsVersions)
    if (v.minor == minor)
      throw std::runtime_error("CPython 3." + std::to_string(minor) + " has no compiled-in layout: it is read from the "
                               "target's _Py_DebugOffsets");
  throw not_supported(3, minor);
}

Layout layout_from_debug_offsets(const unsigned char* bytes, std::size_t size) {
  if (size < kDebugOffsetsReadSize || std::memcmp(bytes, "xdebugpy", 8) != 0)
    throw std::runtime_error("no _Py_DebugOffsets at _PyRuntime (cookie xdebugpy not found)");
  auto u64 = [&](int position) {
    std::uint64_t v;
    std::memcpy(&v, bytes + position, 8);
    return v;
  };
  std::uint64_t version = u64(kDebugOffsetsVersionAt);
  int major = static_cast<int>((version >> 24) & 0xff), minor = static_cast<int>((version >> 16) & 0xff);
  const DebugOffsetsVersion* known = nullptr;
  for (const DebugOffsetsVersion& v : kDebugOffsetsVersions)
    if (major == 3 && v.minor == minor) known = &v;
  if (!known) throw not_supported(major, minor);
  if (u64(kDebugOffsetsFreeThreadedAt) != 0)
    throw std::runtime_error("CPython 3." + std::to_string(minor) + " free-threaded builds (python3." +
                             std::to_string(minor) + "t) are not supported");
  const DebugOffsetsFields& f = known->fields;
  auto off = [&](int position) -> int {
    std::uint64_t v = u64(position);
    if (v > (1u << 16)) throw std::runtime_error("_Py_DebugOffsets: an offset out of bounds (" + std::to_string(v) + ")");
    return static_cast<int>(v);
  };
  Layout layout;
  GeneratedLayout& o = layout.offsets;
  o = known->constants;  // the fields _Py_DebugOffsets lacks; the rest is overwritten below
  o.minor = minor;
  o.runtime_interpreters_head = off(f.interpreters_head);
  o.runtime_gil_locked = o.runtime_gil_last_holder = o.runtime_tstate_current = -1;
  o.interp_next = off(f.interp_next);
  o.interp_threads_head = off(f.interp_threads_head);
  o.interp_gil_locked = off(f.interp_gil_locked);
  o.interp_gil_last_holder = off(f.interp_gil_holder);
  o.tstate_next = off(f.tstate_next);
  o.tstate_interp = off(f.tstate_interp);
  o.tstate_frame = off(f.tstate_current_frame);
  o.cframe_current_frame = -1;
  o.cframe_previous = -1;
  o.tstate_thread_id = off(f.tstate_thread_id);
  o.tstate_native_thread_id = off(f.tstate_native_thread_id);
  o.frame_previous = off(f.frame_previous);
  o.frame_code = off(f.frame_executable);
  o.frame_instr = off(f.frame_instr_ptr);
  o.frame_owner = off(f.frame_owner);
  o.frame_size = off(f.frame_size);
  o.code_firstlineno = off(f.code_firstlineno);
  o.code_filename = off(f.code_filename);
  o.code_name = off(f.code_name);
  o.code_qualname = off(f.code_qualname);
  o.code_linetable = off(f.code_linetable);
  o.code_code = off(f.code_code_adaptive);
  o.bytes_size = off(f.bytes_size);
  o.bytes_sval = off(f.bytes_sval);
  o.unicode_length = off(f.unicode_length);
  o.unicode_state = off(f.unicode_state);
  o.unicode_ascii_size = off(f.unicode_ascii_size);
  // Not in _Py_DebugOffsets: compact non-ASCII strings keep utf8_length and utf8 after the ASCII header.
  o.unicode_compact_size = o.unicode_ascii_size + 16;
  o.interp_modules = off(f.interp_modules);
  o.dict_keys = off(f.dict_keys);
  o.dict_values = off(f.dict_values);
  o.long_size = off(f.long_size);
  o.long_digits = off(f.long_digits);
  o.type_flags = off(f.type_flags);
  set_version_constants(layout, minor);
  layout.object_type = off(f.object_type);
  if (f.tstate_base_frame >= 0) layout.tstate_base_frame = off(f.tstate_base_frame);
  if (f.gen_iframe >= 0) {
    Layout::Coroutines& c = layout.coroutines;
    c.gen_iframe = off(f.gen_iframe);
    c.gen_frame_state = off(f.gen_frame_state);
    c.frame_stackpointer = off(f.frame_stackpointer);
    c.set_used = off(f.set_used);
    c.set_mask = off(f.set_mask);
    c.set_table = off(f.set_table);
    c.llist_next = off(f.llist_next);
  }
  return layout;
}

}  // namespace pyfold::record
