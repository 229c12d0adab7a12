#pragma once
// Where CPython keeps what the recorder reads: byte offsets per minor version. 3.8-3.12 come from one generated
// table (python_layouts_table.cpp, made by gen_python_layouts.py from the headers); 3.13 to 3.15 from the target's
// own _Py_DebugOffsets plus the few constants it does not carry.
#include <cstddef>
#include <cstdint>
#include <string>

namespace pyfold::record {

// The fields in gen_python_layouts.py's FIELDS order; -1 where a version has no such field.
struct GeneratedLayout {
  int minor;
  int runtime_interpreters_head, runtime_gil_locked, runtime_gil_last_holder, runtime_tstate_current;
  int interp_next, interp_threads_head, interp_gil_locked, interp_gil_last_holder;
  int tstate_next, tstate_interp, tstate_frame, cframe_current_frame, cframe_previous, tstate_thread_id,
      tstate_native_thread_id;
  int frame_previous, frame_code, frame_instr, frame_owner, frame_size;
  int code_firstlineno, code_flags, code_filename, code_name, code_qualname, code_linetable, code_code;
  int bytes_size, bytes_sval, unicode_length, unicode_state, unicode_ascii_size, unicode_compact_size;
  // For thread names (sys.modules -> threading._active -> Thread._name).
  int interp_modules, module_dict, dict_keys, dict_values, dictkeys_size, dictkeys_index_bytes, dictkeys_kind;
  int dictkeys_nentries, dictkeys_indices, dictvalues_values, type_dictoffset, type_flags, type_basicsize,
      heaptype_cached_keys;
  int long_size, long_digits;
  // dump --locals: a frame's local slots and their names (<= 3.10: co_varnames, co_cellvars, co_freevars; 3.11+:
  // co_localsplusnames and co_localspluskinds), and the objects it shows.
  int frame_localsplus, code_varnames, code_cellvars, code_freevars, code_localsplusnames, code_localspluskinds;
  int code_argcount, code_kwonlyargcount, var_size, type_name, tuple_items, list_items, float_value;
  int set_used, set_mask, set_table, cell_ref;
  int tstate_id;  // PyThreadState.id: a counter, never reused within an interpreter (thread names are kept by it)
};

// Byte positions of the _Py_DebugOffsets fields the recorder reads (gen_python_layouts.py's DEBUG_OFFSETS); one
// table per minor version, as fields are added in the middle of the struct.
struct DebugOffsetsFields {
  int version, free_threaded, interpreters_head;
  int interp_next, interp_threads_head, interp_gil, interp_gil_locked, interp_gil_holder;
  int tstate_next, tstate_interp, tstate_current_frame, tstate_thread_id, tstate_native_thread_id;
  int frame_size, frame_previous, frame_executable, frame_instr_ptr, frame_owner;
  int code_filename, code_name, code_qualname, code_linetable, code_firstlineno, code_code_adaptive;
  int object_type, bytes_size, bytes_sval, unicode_state, unicode_length, unicode_ascii_size;
  int interp_modules, dict_keys, dict_values, long_size, long_digits, type_flags;
  int tstate_base_frame;  // 3.15+; -1 before
  // --async (3.14+; -1 before): coroutines, their frames' stack pointer, sets, linked lists.
  int gen_iframe, gen_frame_state, frame_stackpointer, set_used, set_mask, set_table, llist_next;
};

extern const GeneratedLayout kGeneratedLayouts[];
extern const std::size_t kGeneratedLayoutCount;
extern const DebugOffsetsFields kDebugOffsets313;
extern const GeneratedLayout kConstants313;  // 3.13's offsets that _Py_DebugOffsets lacks
extern const DebugOffsetsFields kDebugOffsets314;
extern const GeneratedLayout kConstants314;  // 3.14's offsets that _Py_DebugOffsets lacks
extern const DebugOffsetsFields kDebugOffsets315;
extern const GeneratedLayout kConstants315;  // 3.15's offsets that _Py_DebugOffsets lacks

// What no struct carries, per minor version (generated from the headers' enums and macros).
struct VersionConstants {
  int minor;
  int skip_owner_from;  // the first _frameowner value of frames without Python code; -1: no such frames (<= 3.11)
  int tag_bits;         // Py_TAG_BITS of f_executable, a _PyStackRef from 3.14; 0 before
  // gi_frame_state values (3.14+; 0 before): suspended in an await (and 3.15's _LOCKED twin), executing, cleared.
  int frame_yield_from, frame_yield_from_locked, frame_executing, frame_cleared;
};
extern const VersionConstants kVersionConstants[];
extern const std::size_t kVersionConstantCount;

enum class LineTableKind { lnotab, linetable310, location_table };

// Everything the frame walker needs for one target.
struct Layout {
  GeneratedLayout offsets{};
  LineTableKind line_table = LineTableKind::location_table;
  bool interpreter_frames = false;  // 3.11+: _PyInterpreterFrame chain (else PyFrameObject)
  bool lasti_in_code_units = false; // 3.10: f_lasti counts 2-byte instructions
  int skip_owner_from = -1;         // frames whose owner byte is >= this have no Python code (3.12+)
  std::uint64_t code_pointer_mask = ~std::uint64_t{0};  // 3.14+: clears f_executable's _PyStackRef tag bits
  int object_type = 8;              // ob_type
  // How a walk shows it reached the thread's first frame (a suspended generator's frame has no previous frame, so a
  // walk that read it just after it yielded stops short). 3.12+: the chain ends at the entry frame of the outermost
  // _PyEval_EvalFrameDefault call, a shim (owner >= skip_owner_from). 3.11: the last frame is not owned by a
  // generator (owner generator_owner). <= 3.10: the last frame's code has none of generator_code_flags.
  bool walk_ends_at_shim = false;
  int generator_owner = -1;
  std::uint32_t generator_code_flags = 0;
  // 3.15+: tstate->base_frame, a pointer to the frame the thread state embeds, where every walk of its chain ends
  // (the last `previous`); -1 before.
  int tstate_base_frame = -1;
  // --async (3.14+, from _Py_DebugOffsets; -1 before): a coroutine's embedded frame and state, the frame's stack
  // pointer, set and linked-list fields (awaited_by sets, task lists).
  struct Coroutines {
    int gen_iframe = -1, gen_frame_state = -1, frame_stackpointer = -1;
    int set_used = -1, set_mask = -1, set_table = -1, llist_next = -1;
    // Where a coroutine suspended in an `await` keeps the awaited object: this many words below its frame's stack
    // pointer (measured: 1 in 3.14, 2 in 3.15, where SEND keeps one more value above it).
    int awaited_slot = 0;
    int yield_from = 0, yield_from_locked = 0, executing = 0, cleared = 0;  // gi_frame_state values
  } coroutines;
  // 3.11: the frame's is_entry byte (the first frame of a _PyEval_EvalFrameDefault call); -1 in other versions.
  int frame_is_entry = -1;
};

// The CPython versions the recorder reads, as messages state them.
constexpr const char* kSupportedPythons = "3.8 to 3.15";

// The compiled-in layout of 3.minor (8-12); throws std::runtime_error for any other.
Layout layout_for_minor(int minor);
// A 3.13, 3.14 or 3.15 layout from the target's _Py_DebugOffsets bytes (read from _PyRuntime+0). Throws
// std::runtime_error naming the reason (wrong cookie, unsupported minor, free-threaded build, offsets out of bounds).
Layout layout_from_debug_offsets(const unsigned char* bytes, std::size_t size);

// The number of bytes of _Py_DebugOffsets layout_from_debug_offsets reads (sizeof: 584 in 3.13, 760 in 3.14,
// 888 in 3.15).
constexpr std::size_t kDebugOffsetsReadSize = 1024;
// The cookie "xdebugpy" is followed by PY_VERSION_HEX and free_threaded in every version, so these two are read
// before the version's own field positions are known.
constexpr int kDebugOffsetsVersionAt = 8, kDebugOffsetsFreeThreadedAt = 16;

}  // namespace pyfold::record
