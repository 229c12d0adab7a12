// The layout table (generated) and layouts read from _Py_DebugOffsets (cpython/python_layout.hpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "pyfold/record/cpython/python_layout.hpp"

using namespace pyfold::record;

TEST_CASE("layout table: the generated rows hold the measured offsets of the reference") {
  CHECK(kGeneratedLayoutCount == 5);
  Layout l38 = layout_for_minor(8), l310 = layout_for_minor(10), l311 = layout_for_minor(11), l312 = layout_for_minor(12);
  CHECK(l38.offsets.runtime_tstate_current == 1368);
  CHECK(l38.offsets.frame_instr == 104);
  CHECK(l38.line_table == LineTableKind::lnotab);
  CHECK(l310.offsets.frame_instr == 96);
  CHECK(l310.lasti_in_code_units);
  CHECK(l311.offsets.tstate_frame == 56);
  CHECK(l311.offsets.cframe_current_frame == 8);
  CHECK(l311.offsets.frame_previous == 48);
  CHECK(l311.offsets.code_code == 184);
  CHECK(l311.skip_owner_from == -1);
  CHECK(l312.offsets.interp_threads_head == 72);
  CHECK(l312.offsets.interp_gil_last_holder == 1048);
  CHECK(l312.offsets.code_code == 192);
  CHECK(l312.offsets.unicode_ascii_size == 40);
  CHECK(l312.skip_owner_from == 3);
  CHECK(l38.offsets.dictkeys_kind == -1);  // 3.8-3.10: no kinds of dict keys
  CHECK(l38.offsets.interp_modules == 56);
  CHECK(l311.offsets.dictkeys_kind == 10);
  CHECK(l312.offsets.long_digits == 24);
  CHECK_THROWS_WITH(layout_for_minor(7), Catch::Contains("3.7 is not supported"));
  CHECK_THROWS_WITH(layout_for_minor(13), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(14), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(15), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(16), Catch::Contains("3.16 is not supported (supported: 3.8 to 3.15)"));
}

namespace {
// A synthetic _Py_DebugOffsets: the cookie, a PY_VERSION_HEX and the offsets given, at one version's field positions.
struct DebugOffsetsBlob {
  std::vector<unsigned char> bytes = std::vector<unsigned char>(kDebugOffsetsReadSize, 0);
  explicit DebugOffsetsBlob(std::uint64_t version) {
    std::memcpy(bytes.data(), "xdebugpy", 8);
    put(kDebugOffsetsVersionAt, version);
  }
  void put(int position, std::uint64_t value) { std::memcpy(bytes.data() + position, &value, 8); }
  Layout read() const { return layout_from_debug_offsets(bytes.data(), bytes.size()); }
};
}  // namespace

TEST_CASE("layout from _Py_DebugOffsets: version and build flavour sit at the same place in every version") {
  CHECK(kDebugOffsets313.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets314.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets315.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets313.free_threaded == kDebugOffsetsFreeThreadedAt);
  CHECK(kDebugOffsets314.free_threaded == kDebugOffsetsFreeThreadedAt);
  CHECK(kDebugOffsets315.free_threaded == kDebugOffsetsFreeThreadedAt);
  // 3.14 added fields in the middle of the struct: the positions differ, so reading 3.14 as 3.13 would be wrong.
  CHECK(kDebugOffsets314.frame_owner != kDebugOffsets313.frame_owner);
  CHECK(kDebugOffsets314.code_code_adaptive != kDebugOffsets313.code_code_adaptive);
  // So did 3.15 (thread_state.base_frame, last_profiled_frame... before thread_id).
  CHECK(kDebugOffsets315.tstate_thread_id != kDebugOffsets314.tstate_thread_id);
  CHECK(kDebugOffsets315.frame_owner != kDebugOffsets314.frame_owner);
  // Every field read lies inside the bytes read.
  for (const DebugOffsetsFields* f : {&kDebugOffsets313, &kDebugOffsets314, &kDebugOffsets315})
    for (int position : {f->type_flags, f->unicode_ascii_size, f->long_digits, f->dict_values})
      CHECK(position + 8 <= static_cast<int>(kDebugOffsetsReadSize));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.13 read, other versions and free-threaded builds refused") {
  DebugOffsetsBlob blob(0x030d00f0);
  const DebugOffsetsFields& f = kDebugOffsets313;
  blob.put(f.interpreters_head, 632);
  blob.put(f.interp_threads_head, 7344);
  blob.put(f.frame_executable, 0);
  blob.put(f.frame_owner, 70);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 200);
  Layout layout = blob.read();
  CHECK(layout.offsets.minor == 13);
  CHECK(layout.offsets.runtime_interpreters_head == 632);
  CHECK(layout.offsets.interp_threads_head == 7344);
  CHECK(layout.offsets.frame_owner == 70);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.code_code == 200);
  CHECK(layout.skip_owner_from == 3);
  CHECK(layout.code_pointer_mask == ~std::uint64_t{0});  // f_executable is a plain PyObject*
  CHECK(kDebugOffsets313.tstate_base_frame == -1);  // no base_frame in 3.13's _Py_DebugOffsets
  CHECK(layout.tstate_base_frame == -1);
  CHECK(layout.line_table == LineTableKind::location_table);
  CHECK(layout.offsets.dictkeys_indices == kConstants313.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.offsets.dictkeys_indices == 32);
  CHECK(layout.offsets.dictvalues_values == 8);
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.13 free-threaded builds (python3.13t) are not supported"));
  blob.put(f.free_threaded, 0);
  blob.put(f.version, 0x031000a1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("CPython 3.16 is not supported (supported: 3.8 to 3.15)"));
  blob.put(f.version, 0x040000f0);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("CPython 4.0 is not supported"));
  blob.put(f.version, 0x030d00f0);
  blob.put(f.interp_threads_head, 1ull << 40);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("out of bounds"));
  blob.bytes[0] = 'y';
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("cookie"));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.14 read at its own field positions, tagged f_executable, owners") {
  // Values as in CPython 3.14's GIL build (reference table): interpreters.head 808, threads.head 7344, owner 74.
  DebugOffsetsBlob blob(0x030e07f0);
  const DebugOffsetsFields& f = kDebugOffsets314;
  blob.put(f.interpreters_head, 808);
  blob.put(f.interp_next, 7272);
  blob.put(f.interp_threads_head, 7344);
  blob.put(f.tstate_current_frame, 72);
  blob.put(f.frame_previous, 8);
  blob.put(f.frame_executable, 0);
  blob.put(f.frame_instr_ptr, 56);
  blob.put(f.frame_owner, 74);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 208);
  blob.put(f.interp_modules, 968);
  Layout layout = blob.read();
  CHECK(layout.offsets.minor == 14);
  CHECK(layout.offsets.runtime_interpreters_head == 808);
  CHECK(layout.offsets.interp_next == 7272);
  CHECK(layout.offsets.interp_threads_head == 7344);
  CHECK(layout.offsets.tstate_frame == 72);
  CHECK(layout.offsets.cframe_current_frame == -1);
  CHECK(layout.offsets.frame_previous == 8);
  CHECK(layout.offsets.frame_instr == 56);
  CHECK(layout.offsets.frame_owner == 74);
  CHECK(layout.offsets.code_code == 208);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.interp_modules == 968);
  CHECK(layout.offsets.dictkeys_indices == kConstants314.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.offsets.heaptype_cached_keys == kConstants314.heaptype_cached_keys);
  CHECK(layout.interpreter_frames);
  CHECK(layout.line_table == LineTableKind::location_table);
  // FRAME_OWNED_BY_INTERPRETER = 3 (entry frames, f_executable None) and FRAME_OWNED_BY_CSTACK = 4 are skipped;
  // THREAD 0, GENERATOR 1 and FRAME_OBJECT 2 hold Python code.
  CHECK(layout.skip_owner_from == 3);
  // f_executable is a _PyStackRef: a deferred or immortal reference has tag bits set (Py_TAG_REFCNT = 1).
  const std::uint64_t code = 0x7f3a12345670;
  CHECK(((code | 1) & layout.code_pointer_mask) == code);
  CHECK(((code | 3) & layout.code_pointer_mask) == code);
  CHECK((code & layout.code_pointer_mask) == code);
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.14 free-threaded builds (python3.14t) are not supported"));
  blob.put(f.free_threaded, 0);
  blob.put(f.frame_owner, 1ull << 32);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("out of bounds"));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.15 read at its own field positions, tagged f_executable, owners") {
  // Values as in Debian's CPython 3.15.2 (offsetof on its headers): interpreters.head 936, threads.head 7336.
  DebugOffsetsBlob blob(0x030f02f0);
  const DebugOffsetsFields& f = kDebugOffsets315;
  blob.put(f.interpreters_head, 936);
  blob.put(f.interp_next, 7264);
  blob.put(f.interp_threads_head, 7336);
  blob.put(f.tstate_current_frame, 72);
  blob.put(f.tstate_native_thread_id, 184);
  blob.put(f.frame_previous, 8);
  blob.put(f.frame_instr_ptr, 56);
  blob.put(f.frame_owner, 74);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 208);
  blob.put(f.interp_modules, 7592);
  blob.put(f.tstate_base_frame, 216);
  Layout layout = blob.read();
  CHECK(layout.tstate_base_frame == 216);  // every walk must end at tstate->base_frame
  CHECK(layout.offsets.minor == 15);
  CHECK(layout.offsets.runtime_interpreters_head == 936);
  CHECK(layout.offsets.interp_threads_head == 7336);
  CHECK(layout.offsets.tstate_native_thread_id == 184);
  CHECK(layout.offsets.frame_owner == 74);
  CHECK(layout.offsets.code_code == 208);
  CHECK(layout.offsets.interp_modules == 7592);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.dictkeys_indices == kConstants315.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.line_table == LineTableKind::location_table);
  // 3.15's _frameowner ends at FRAME_OWNED_BY_INTERPRETER = 3 (entry frames and the thread's base frame).
  CHECK(layout.skip_owner_from == 3);
  const std::uint64_t code = 0x7f3a12345670;
  CHECK(((code | 1) & layout.code_pointer_mask) == code);  // Py_TAG_REFCNT
  CHECK(((code | 3) & layout.code_pointer_mask) == code);  // Py_TAG_BITS
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.15 free-threaded builds (python3.15t) are not supported"));
}
