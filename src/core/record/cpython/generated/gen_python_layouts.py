#!/usr/bin/env python3
"""Generates python_layouts_table.cpp: the byte offsets pyfold's recorder reads, for CPython 3.8-3.12, measured with
offsetof() against each version's installed headers (internal headers included, Py_BUILD_CORE), plus, for 3.13 to
3.15, the positions of the fields of that version's _Py_DebugOffsets (which gives the rest of the offsets at run time),
plus, for every version, the constants no struct carries (the frame owner that starts the frames without Python code,
the _PyStackRef tag bits).
It also checks, on each version's headers, what the walker assumes without a table: the bits of a string's state
(kind at bit 2, compact 5, ascii 6), the compact non-ASCII header (ASCII header + 16 bytes from 3.12) and the codes of
the 3.11+ location table (location_table.cpp).

Usage: gen_python_layouts.py [--check] OUTPUT.cpp PYTHON_PREFIX...   (a prefix is e.g. /root/.pyenv/versions/3.11.7,
       or the root of Debian's packages unpacked by tests/pythons/fetch.sh, .../root/usr)
--check compiles the same probes and compares them with OUTPUT.cpp instead of writing it (exit 1 on a difference);
without prefixes it checks every interpreter tests/pythons/pythons.py finds (pyenv, tests/pythons/fetch.sh's, PATH)
whose prefix has the internal headers; a version it does not find is a skip line, or a failure when
PYFOLD_REQUIRE_PYTHONS names it (as CI does); exit 77 when nothing was checked."""
import os
import subprocess
import sys
import tempfile

# field name in the C++ Layout -> C expression (an offsetof or sizeof), per minor version; None = absent (-1).
# Only the fields the recorder reads.
def probes(minor):
    p = {}
    rt = "_PyRuntimeState"
    p["runtime_interpreters_head"] = f"offsetof({rt}, interpreters.head)"
    if minor <= 11:
        p["runtime_gil_locked"] = f"offsetof({rt}, ceval.gil.locked)"
        p["runtime_gil_last_holder"] = f"offsetof({rt}, ceval.gil.last_holder)"
        p["runtime_tstate_current"] = f"offsetof({rt}, gilstate.tstate_current)"
    else:
        p["interp_gil_locked"] = "offsetof(PyInterpreterState, _gil.locked)"
        p["interp_gil_last_holder"] = "offsetof(PyInterpreterState, _gil.last_holder)"
    p["interp_next"] = "offsetof(PyInterpreterState, next)"
    p["interp_threads_head"] = ("offsetof(PyInterpreterState, tstate_head)" if minor <= 8 else
                                "offsetof(PyInterpreterState, threads.head)" if minor >= 11 else
                                "offsetof(PyInterpreterState, tstate_head)")
    p["tstate_next"] = "offsetof(PyThreadState, next)"
    p["tstate_interp"] = "offsetof(PyThreadState, interp)"
    p["tstate_frame"] = "offsetof(PyThreadState, frame)" if minor <= 10 else "offsetof(PyThreadState, cframe)"
    if minor in (11, 12):
        p["cframe_current_frame"] = "offsetof(_PyCFrame, current_frame)"
        p["cframe_previous"] = "offsetof(_PyCFrame, previous)"
    p["tstate_thread_id"] = "offsetof(PyThreadState, thread_id)"
    if minor >= 11:
        p["tstate_native_thread_id"] = "offsetof(PyThreadState, native_thread_id)"
    if minor <= 10:
        p["frame_previous"] = "offsetof(PyFrameObject, f_back)"
        p["frame_code"] = "offsetof(PyFrameObject, f_code)"
        p["frame_instr"] = "offsetof(PyFrameObject, f_lasti)"
        p["frame_size"] = "sizeof(PyFrameObject)"
    else:
        p["frame_previous"] = "offsetof(_PyInterpreterFrame, previous)"
        p["frame_code"] = "offsetof(_PyInterpreterFrame, f_code)"
        p["frame_instr"] = "offsetof(_PyInterpreterFrame, prev_instr)"
        p["frame_owner"] = "offsetof(_PyInterpreterFrame, owner)"
        p["frame_size"] = "sizeof(_PyInterpreterFrame)"
    p["code_firstlineno"] = "offsetof(PyCodeObject, co_firstlineno)"
    p["code_flags"] = "offsetof(PyCodeObject, co_flags)"
    p["code_filename"] = "offsetof(PyCodeObject, co_filename)"
    p["code_name"] = "offsetof(PyCodeObject, co_name)"
    if minor >= 11:
        p["code_qualname"] = "offsetof(PyCodeObject, co_qualname)"
    p["code_linetable"] = "offsetof(PyCodeObject, co_lnotab)" if minor <= 9 else "offsetof(PyCodeObject, co_linetable)"
    p["code_code"] = "offsetof(PyCodeObject, co_code)" if minor <= 10 else "offsetof(PyCodeObject, co_code_adaptive)"
    p["bytes_size"] = "offsetof(PyVarObject, ob_size)"
    p["bytes_sval"] = "offsetof(PyBytesObject, ob_sval)"
    p["unicode_length"] = "offsetof(PyASCIIObject, length)"
    p["unicode_state"] = "offsetof(PyASCIIObject, hash) + sizeof(Py_hash_t)"
    p["unicode_ascii_size"] = "sizeof(PyASCIIObject)"
    p["unicode_compact_size"] = "sizeof(PyCompactUnicodeObject)"
    p.update(object_probes(minor))
    return p


def object_probes(minor):
    """What reading thread names needs (sys.modules -> threading._active -> Thread._name): dicts, ints, types.
    3.8-3.10 keep PyDictKeysObject and PyModuleObject out of the installed headers (Objects/dict-common.h,
    Objects/moduleobject.c); their layout, unchanged across those versions, is written here as numbers."""
    p = {}
    if minor <= 12:
        p["interp_modules"] = ("offsetof(PyInterpreterState, imports.modules)" if minor >= 12 else
                               "offsetof(PyInterpreterState, modules)")
    p["module_dict"] = "offsetof(PyModuleObject, md_dict)" if minor >= 11 else "16"
    p["dict_keys"] = "offsetof(PyDictObject, ma_keys)"
    p["dict_values"] = "offsetof(PyDictObject, ma_values)"
    if minor <= 10:
        p["dictkeys_size"] = "8"          # Py_ssize_t dk_size
        p["dictkeys_nentries"] = "32"
        p["dictkeys_indices"] = "40"
    else:
        p["dictkeys_size"] = "offsetof(PyDictKeysObject, dk_log2_size)"
        p["dictkeys_index_bytes"] = "offsetof(PyDictKeysObject, dk_log2_index_bytes)"
        p["dictkeys_kind"] = "offsetof(PyDictKeysObject, dk_kind)"
        p["dictkeys_nentries"] = "offsetof(PyDictKeysObject, dk_nentries)"
        p["dictkeys_indices"] = "offsetof(PyDictKeysObject, dk_indices)"
        p["dictvalues_values"] = "offsetof(PyDictValues, values)"
    p["type_dictoffset"] = "offsetof(PyTypeObject, tp_dictoffset)"
    p["type_flags"] = "offsetof(PyTypeObject, tp_flags)"
    p["type_basicsize"] = "offsetof(PyTypeObject, tp_basicsize)"
    p["heaptype_cached_keys"] = "offsetof(PyHeapTypeObject, ht_cached_keys)"
    p["long_size"] = "offsetof(PyLongObject, long_value.lv_tag)" if minor >= 12 else "offsetof(PyVarObject, ob_size)"
    p["long_digits"] = "offsetof(PyLongObject, long_value.ob_digit)" if minor >= 12 else "offsetof(PyLongObject, ob_digit)"
    # The thread state's unique id (a counter, never reused): what a thread's cached name is kept by.
    p["tstate_id"] = "offsetof(PyThreadState, id)"
    p.update(locals_probes(minor))
    return p


def locals_probes(minor):
    """What `dump --locals` needs: a frame's local slots, the code object's names for them, and the objects it shows
    (type names, tuples, lists, floats, sets, cells)."""
    p = {}
    if minor <= 10:
        p["frame_localsplus"] = "offsetof(PyFrameObject, f_localsplus)"
        p["code_varnames"] = "offsetof(PyCodeObject, co_varnames)"
        p["code_cellvars"] = "offsetof(PyCodeObject, co_cellvars)"
        p["code_freevars"] = "offsetof(PyCodeObject, co_freevars)"
    else:
        p["frame_localsplus"] = "offsetof(_PyInterpreterFrame, localsplus)"
        p["code_localsplusnames"] = "offsetof(PyCodeObject, co_localsplusnames)"
        p["code_localspluskinds"] = "offsetof(PyCodeObject, co_localspluskinds)"
    p["code_flags"] = "offsetof(PyCodeObject, co_flags)"
    p["code_argcount"] = "offsetof(PyCodeObject, co_argcount)"
    p["code_kwonlyargcount"] = "offsetof(PyCodeObject, co_kwonlyargcount)"
    p["var_size"] = "offsetof(PyVarObject, ob_size)"
    p["type_name"] = "offsetof(PyTypeObject, tp_name)"
    p["tuple_items"] = "offsetof(PyTupleObject, ob_item)"
    p["list_items"] = "offsetof(PyListObject, ob_item)"
    p["float_value"] = "offsetof(PyFloatObject, ob_fval)"
    p["set_used"] = "offsetof(PySetObject, used)"
    p["set_mask"] = "offsetof(PySetObject, mask)"
    p["set_table"] = "offsetof(PySetObject, table)"
    p["cell_ref"] = "offsetof(PyCellObject, ob_ref)"
    return p

FIELDS = ["runtime_interpreters_head", "runtime_gil_locked", "runtime_gil_last_holder", "runtime_tstate_current",
          "interp_next", "interp_threads_head", "interp_gil_locked", "interp_gil_last_holder",
          "tstate_next", "tstate_interp", "tstate_frame", "cframe_current_frame", "cframe_previous",
          "tstate_thread_id",
          "tstate_native_thread_id", "frame_previous", "frame_code", "frame_instr", "frame_owner", "frame_size",
          "code_firstlineno", "code_flags", "code_filename", "code_name", "code_qualname", "code_linetable", "code_code",
          "bytes_size", "bytes_sval", "unicode_length", "unicode_state", "unicode_ascii_size", "unicode_compact_size",
          "interp_modules", "module_dict", "dict_keys", "dict_values", "dictkeys_size", "dictkeys_index_bytes",
          "dictkeys_kind", "dictkeys_nentries", "dictkeys_indices", "dictvalues_values", "type_dictoffset", "type_flags",
          "type_basicsize", "heaptype_cached_keys", "long_size", "long_digits",
          # dump --locals
          "frame_localsplus", "code_varnames", "code_cellvars", "code_freevars", "code_localsplusnames",
          "code_localspluskinds", "code_argcount", "code_kwonlyargcount", "var_size", "type_name", "tuple_items",
          "list_items", "float_value", "set_used", "set_mask", "set_table", "cell_ref",
          # thread names
          "tstate_id"]

# 3.13+: positions of _Py_DebugOffsets' fields (all uint64_t) that the recorder reads. 3.14 keeps these names and adds
# others between them, so each version gets its own row of positions.
DEBUG_OFFSETS = ["version", "free_threaded", "runtime_state.interpreters_head",
    "interpreter_state.next", "interpreter_state.threads_head", "interpreter_state.gil_runtime_state",
    "interpreter_state.gil_runtime_state_locked", "interpreter_state.gil_runtime_state_holder",
    "thread_state.next", "thread_state.interp", "thread_state.current_frame", "thread_state.thread_id",
    "thread_state.native_thread_id", "interpreter_frame.size", "interpreter_frame.previous",
    "interpreter_frame.executable", "interpreter_frame.instr_ptr", "interpreter_frame.owner",
    "code_object.filename", "code_object.name", "code_object.qualname", "code_object.linetable",
    "code_object.firstlineno", "code_object.co_code_adaptive", "pyobject.ob_type", "bytes_object.ob_size",
    "bytes_object.ob_sval", "unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
    "interpreter_state.imports_modules", "dict_object.ma_keys", "dict_object.ma_values", "long_object.lv_tag",
    "long_object.ob_digit", "type_object.tp_flags", "thread_state.base_frame",
    # --async (3.14+): coroutine frames, the await chain, task lists and awaited_by sets.
    "gen_object.gi_iframe", "gen_object.gi_frame_state", "interpreter_frame.stackpointer", "set_object.used",
    "set_object.mask", "set_object.table", "llist_node.next"]
# Fields a version's _Py_DebugOffsets gained: the first minor version that has each (before it: -1).
DEBUG_OFFSETS_SINCE = {"thread_state.base_frame": 15, "gen_object.gi_iframe": 14, "gen_object.gi_frame_state": 14,
                       "interpreter_frame.stackpointer": 14, "set_object.used": 14, "set_object.mask": 14,
                       "set_object.table": 14, "llist_node.next": 14}

HEADERS = {
    8: ["Python.h", "frameobject.h", "internal/pycore_pystate.h"],
    9: ["Python.h", "frameobject.h", "internal/pycore_runtime.h", "internal/pycore_interp.h"],
    10: ["Python.h", "frameobject.h", "internal/pycore_runtime.h", "internal/pycore_interp.h"],
    11: ["Python.h", "internal/pycore_runtime.h", "internal/pycore_interp.h", "internal/pycore_frame.h",
         "internal/pycore_dict.h", "internal/pycore_moduleobject.h"],
    12: ["Python.h", "internal/pycore_runtime.h", "internal/pycore_interp.h", "internal/pycore_frame.h",
         "internal/pycore_dict.h", "internal/pycore_moduleobject.h"],
    13: ["Python.h", "internal/pycore_runtime.h", "internal/pycore_dict.h", "internal/pycore_moduleobject.h",
         "internal/pycore_frame.h"],
    # pycore_runtime.h includes pycore_debug_offsets.h, where 3.14 moved _Py_DebugOffsets.
    14: ["Python.h", "internal/pycore_runtime.h", "internal/pycore_dict.h", "internal/pycore_moduleobject.h",
         "internal/pycore_frame.h"],
    15: ["Python.h", "internal/pycore_runtime.h", "internal/pycore_dict.h", "internal/pycore_moduleobject.h",
         "internal/pycore_frame.h"],
}
DEBUG_OFFSETS_MINORS = (13, 14, 15)  # the versions read through _Py_DebugOffsets
MINORS = range(8, 16)


def constants_probes(minor):
    """The per-version constants of kVersionConstants: the first frame owner value of frames without Python code
    (3.12-3.13 FRAME_OWNED_BY_CSTACK; 3.14+ FRAME_OWNED_BY_INTERPRETER, below CSTACK in 3.14, the last value in 3.15;
    3.11 marks entries with is_entry instead) and Py_TAG_BITS of f_executable (3.14+, a _PyStackRef)."""
    owner = ("FRAME_OWNED_BY_INTERPRETER" if minor >= 14 else "FRAME_OWNED_BY_CSTACK" if minor >= 12 else "-1")
    p = {"owner": owner, "tag_bits": "Py_TAG_BITS" if minor >= 14 else "0"}
    # --async (3.14+, 0 before): a coroutine's gi_frame_state suspended in an await (3.15 adds a _LOCKED twin),
    # running, and cleared.
    p["yield_from"] = "FRAME_SUSPENDED_YIELD_FROM" if minor >= 14 else "0"
    p["yield_from_locked"] = ("FRAME_SUSPENDED_YIELD_FROM_LOCKED" if minor >= 15 else
                              "FRAME_SUSPENDED_YIELD_FROM" if minor >= 14 else "0")
    p["executing"] = "FRAME_EXECUTING" if minor >= 14 else "0"
    p["cleared"] = "FRAME_CLEARED" if minor >= 14 else "0"
    return p


def assumption_probes(minor):
    """What the walker assumes for every version (name -> (C expression, the value the walker uses))."""
    p = {"unicode kind bit": ("state_shift(0)", 2), "unicode compact bit": ("state_shift(1)", 5),
         "unicode ascii bit": ("state_shift(2)", 6)}
    if minor >= 12:  # 3.13+ take the ASCII header's size from _Py_DebugOffsets and add 16
        p["compact header = ASCII header + 16"] = ("sizeof(PyCompactUnicodeObject) - sizeof(PyASCIIObject)", 16)
    if minor >= 11:
        p.update({"location code NONE": ("PY_CODE_LOCATION_INFO_NONE", 15),
                  "location code LONG": ("PY_CODE_LOCATION_INFO_LONG", 14),
                  "location code NO_COLUMNS": ("PY_CODE_LOCATION_INFO_NO_COLUMNS", 13),
                  "location code ONE_LINE0": ("PY_CODE_LOCATION_INFO_ONE_LINE0", 10)})
    return p


# Which bit of PyASCIIObject.state a bitfield starts at (0 kind, 1 compact, 2 ascii).
STATE_SHIFT = """
static int state_shift(int which) {
  PyASCIIObject o;
  unsigned int bits = 0;
  memset(&o, 0, sizeof o);
  if (which == 0) o.state.kind = 1;
  else if (which == 1) o.state.compact = 1;
  else o.state.ascii = 1;
  memcpy(&bits, &o.state, sizeof bits);
  return __builtin_ctz(bits);
}
"""


def measure(prefix, minor=None):
    """Compiles and runs a probe against the headers under prefix (of 3.minor when given: a prefix such as /usr/local
    may hold several versions); returns (minor, {name: value})."""
    include = [os.path.join(prefix, "include", d) for d in sorted(os.listdir(os.path.join(prefix, "include")))
               if d.startswith("python3.") and (minor is None or d == f"python3.{minor}")][0]
    minor = int(os.path.basename(include).split(".")[1])
    if minor <= 12:
        exprs = {k: v for k, v in probes(minor).items()}
    else:
        exprs = {"debug." + f: f"offsetof(_Py_DebugOffsets, {f})" if minor >= DEBUG_OFFSETS_SINCE.get(f, 0) else "-1"
                 for f in DEBUG_OFFSETS}
        # What _Py_DebugOffsets does not carry, from the same headers.
        exprs.update({"const." + k: v for k, v in object_probes(minor).items()})
    exprs.update({"version." + k: v for k, v in constants_probes(minor).items()})
    assumed = assumption_probes(minor)
    exprs.update({"assume." + k.replace(" ", "_"): e for k, (e, _) in assumed.items()})
    src = "#define Py_BUILD_CORE 1\n#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n"
    src += "".join(f'#include "{h}"\n' for h in HEADERS[minor])
    src += STATE_SHIFT
    src += "int main(void) {\n"
    src += "".join(f'  printf("{k} %ld\\n", (long)({e}));\n' for k, e in exprs.items())
    src += "  return 0;\n}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(c, "w") as f:
            f.write(src)
        # The prefix's include directory too: Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>.
        subprocess.run(["cc", "-w", "-I", include, "-I", os.path.join(include, "internal"), "-I",
                        os.path.dirname(include), c, "-o", exe], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    values = dict((line.split()[0], int(line.split()[1])) for line in out.splitlines())
    for name, (_, want) in assumed.items():
        got = values["assume." + name.replace(" ", "_")]
        if got != want:
            raise SystemExit(f"3.{minor} ({prefix}): {name} is {got} in the headers; the walker assumes {want}")
    return minor, values


def field_lines(fields):
    """The initializer lines of [(name, value)]: a value a line with its name, except that a run of fields the
    version lacks (-1) shares lines (the names in the comment, up to 110 characters a line)."""
    lines, run = [], []

    def flush():
        while run:
            take = 1
            while take < len(run) and len("    " + "-1, " * (take + 1) + " // " + ", ".join(run[:take + 1])) <= 110:
                take += 1
            lines.append("    " + ", ".join(["-1"] * take) + ",  // " + ", ".join(run[:take]))
            del run[:take]

    for name, value in fields:
        if value == -1:
            run.append(name)
            continue
        flush()
        lines.append(f"    {value},  // {name}")
    flush()
    return lines


def render(results):
    out = ["// Generated by gen_python_layouts.py from CPython's installed headers (offsetof/sizeof). Do not edit;",
           "// run `python3 src/core/record/cpython/generated/gen_python_layouts.py src/core/record/cpython/generated/python_layouts_table.cpp PREFIX...`.",
           '#include "pyfold/record/cpython/python_layout.hpp"', "", "namespace pyfold::record {", "",
           "// One row per minor version 3.8-3.12; -1: the version has no such field.",
           "const GeneratedLayout kGeneratedLayouts[] = {"]
    for minor in sorted(m for m in results if m <= 12):
        values = results[minor]
        out.append(f"  {{{minor},  // 3.{minor}")
        out.extend(field_lines([(name, values.get(name, -1)) for name in FIELDS]))
        out.append("  },")
    out.append("};")
    out.append("const std::size_t kGeneratedLayoutCount = sizeof(kGeneratedLayouts) / sizeof(kGeneratedLayouts[0]);")
    out.append("")
    out.append("// Per minor version: {minor, first frame owner without Python code (-1: none), Py_TAG_BITS of f_executable,")
    out.append("// then (3.14+) gi_frame_state: suspended in an await, its _LOCKED twin, executing, cleared}.")
    out.append("const VersionConstants kVersionConstants[] = {")
    for minor in sorted(results):
        v = results[minor]
        out.append(f"  {{{minor}, {v['version.owner']}, {v['version.tag_bits']}, {v['version.yield_from']}, "
                   f"{v['version.yield_from_locked']}, {v['version.executing']}, {v['version.cleared']}}},  // 3.{minor}")
    out.append("};")
    out.append("const std::size_t kVersionConstantCount = sizeof(kVersionConstants) / sizeof(kVersionConstants[0]);")
    out.append("")
    for minor in DEBUG_OFFSETS_MINORS:
        if minor not in results:
            continue
        out.append(f"// Byte positions of _Py_DebugOffsets' fields in CPython 3.{minor}.")
        out.append(f"const DebugOffsetsFields kDebugOffsets3{minor} = {{")
        for f in DEBUG_OFFSETS:
            out.append(f"    {results[minor]['debug.' + f]},  // {f}")
        out.append("};")
        out.append("")
        out.append(f"// 3.{minor}'s offsets that _Py_DebugOffsets does not carry (dict internals, module, type), in a layout row;")
        out.append("// the other fields of this row are unused (-1).")
        out.append(f"const GeneratedLayout kConstants3{minor} = {{{minor},")
        out.extend(field_lines([(name, results[minor].get('const.' + name, -1)) for name in FIELDS]))
        out.append("};")
        out.append("")
    out.append("}  // namespace pyfold::record")
    return "\n".join(out) + "\n"


def installed_prefixes():
    """[(prefix, minor)] of every interpreter the tests use whose prefix has the internal headers (several of one
    minor version: pyenv's and Debian's 3.13), and the pythons module, which reports what is missing."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "..", "tests", "pythons"))
    import pythons
    found = []
    for python in pythons.find(debian_static=False):
        prefix = subprocess.run([python.path, "-c", "import sys; print(sys.base_prefix)"], capture_output=True,
                                text=True).stdout.strip()
        if prefix and os.path.isdir(os.path.join(prefix, "include", f"python3.{python.minor}", "internal")):
            found.append((prefix, python.minor))
        else:
            pythons.missing(python.label, f"{python.path} has no internal headers under {prefix}/include")
    return found, pythons


def main(argv):
    check = argv and argv[0] == "--check"
    if check:
        argv = argv[1:]
    output, prefixes = argv[0], argv[1:]
    found = None
    if check and not prefixes:  # the test: every version whose headers are installed
        prefixes, found = installed_prefixes()
        if not prefixes:
            return 1 if found.failures else 77
    measured = [measure(*p) if isinstance(p, tuple) else measure(p) for p in prefixes]
    results = dict(measured)
    text = render(results)
    if not check:
        with open(output, "w") as f:
            f.write(text)
        return 0
    with open(output) as f:
        committed = f.read()
    # Each version measured here must appear with identical numbers in the committed table.
    def block(marker, end):
        start = text.find(marker)
        return text[start:text.find(end, start)]
    status = 0
    for (prefix, _), (minor, values) in zip(((p if isinstance(p, tuple) else (p, None)) for p in prefixes), measured):
        text = render({minor: values})
        if minor <= 12:
            blocks = [block(f"  {{{minor},  // 3.{minor}", "  },")]
        else:
            blocks = [block(f"const DebugOffsetsFields kDebugOffsets3{minor} ", "};"),
                      block(f"const GeneratedLayout kConstants3{minor} ", "};")]
        blocks.append(block(f"  {{{minor}, {values['version.owner']}, ", "\n"))  # the kVersionConstants row
        if not all(b and b in committed for b in blocks):
            print(f"FAIL - 3.{minor} ({prefix}): offsets measured from the headers differ from {output}")
            status = 1
            continue
        print(f"ok   - 3.{minor} ({prefix}): table matches offsetof() on the installed headers, "
              f"{len(assumption_probes(minor))} walker assumptions hold")
    if found and found.failures:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
