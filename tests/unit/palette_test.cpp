#include <catch2/catch.hpp>

#include "pyfold/render/palette.hpp"

using namespace pyfold;

TEST_CASE("default colours are flamegraph.pl's, name by name", "[palette]") {
  // Reference values: flamegraph.pl (brendangregg/FlameGraph @41fee1f) on "a;b 3 / a;c 2 / x 1".
  Palette hot(PaletteKind::hot, ColorSeed::name_sum);
  CHECK(hot.color("") == "rgb(213,39,9)");
  CHECK(hot.color("a") == "rgb(236,146,35)");
  CHECK(hot.color("b") == "rgb(230,117,28)");
  CHECK(hot.color("c") == "rgb(224,87,20)");
  CHECK(hot.color("x") == "rgb(238,153,36)");
  // The same name always gets the same colour.
  CHECK(hot.color("main (app.py:3)") == hot.color("main (app.py:3)"));
}

TEST_CASE("--colors python colours by where the code lives", "[palette]") {
  CHECK(classify_python_frame("main (/srv/app/main.py:3)") == CodeOrigin::user);
  CHECK(classify_python_frame("loads (/usr/lib/python3.11/json/__init__.py:346)") == CodeOrigin::stdlib);
  CHECK(classify_python_frame("x (/root/.pyenv/versions/3.12.1/lib/python3.12/re/_parser.py:9)") == CodeOrigin::stdlib);
  CHECK(classify_python_frame("get (/app/.venv/lib/python3.11/site-packages/requests/api.py:73)") ==
        CodeOrigin::site_packages);
  CHECK(classify_python_frame("f (/usr/lib/python3/dist-packages/yaml/x.py:1)") == CodeOrigin::site_packages);
  CHECK(classify_python_frame("_find_and_load (<frozen importlib._bootstrap>:1165)") == CodeOrigin::no_file);
  CHECK(classify_python_frame("<built-in method builtins.exec>") == CodeOrigin::no_file);
  CHECK(classify_python_frame("PyEval_EvalFrameDefault") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("work (app.py)") == CodeOrigin::user);
  CHECK(classify_python_frame("f (/opt/pypy3.10/lib/pypy3.10/json/x.py:3)") == CodeOrigin::stdlib);
  CHECK(classify_python_frame("f (/usr/lib/python3.13t/re/x.py:3)") == CodeOrigin::stdlib);
  CHECK(classify_python_frame("f (C:\\Python311\\Lib\\json\\x.py:3)") == CodeOrigin::stdlib);
  CHECK(classify_python_frame("f (C:\\app\\venv\\Lib\\site-packages\\x.py:3)") == CodeOrigin::site_packages);
  CHECK(classify_python_frame("f (C:\\py\\dist-packages\\x.py:3)") == CodeOrigin::site_packages);
  CHECK(classify_python_frame("_PyEval_EvalFrameDefault (libpython3.11.so.1.0)") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("matmul (/usr/lib/python3/dist-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so)") ==
        CodeOrigin::native_library);
  CHECK(classify_python_frame("f (/srv/app/solve.py:12)") == CodeOrigin::user);
  CHECK(classify_python_frame("f (/srv/lib/pythonic/x.py:3)") == CodeOrigin::user);
  CHECK(classify_python_frame("f (/srv/mylib/python3/x.py:3)") == CodeOrigin::user);

  Palette python(PaletteKind::python, ColorSeed::name_sum);
  std::string stdlib = python.color("loads (/usr/lib/python3.11/json/__init__.py:346)");
  int r, g, b;
  REQUIRE(std::sscanf(stdlib.c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
  CHECK((b > r && b > g));  // blue
  std::string site = python.color("get (/app/.venv/lib/python3.11/site-packages/requests/api.py:73)");
  REQUIRE(std::sscanf(site.c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
  CHECK((g > r && g > b));  // green
  std::string builtin = python.color("<built-in method builtins.exec>");
  REQUIRE(std::sscanf(builtin.c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
  CHECK((r == g && g == b));  // grey
  std::string user = python.color("main (/srv/app/main.py:3)");
  REQUIRE(std::sscanf(user.c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
  CHECK((r >= 205 && b <= 55));  // warm
}

TEST_CASE("--colors python: native frames (record --native) get one colour for the interpreter, one for libraries",
          "[palette]") {
  // The interpreter: libpython, the python executable (static builds), CPython's C API names without a file.
  CHECK(classify_python_frame("_PyEval_EvalFrameDefault (libpython3.12.so.1.0)") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("PyObject_Vectorcall (python3.14)") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("python3.14+0x65de80 (python3.14)") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("list_sort_impl (python3.13t)") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("_Py_Dealloc") == CodeOrigin::interpreter);
  CHECK(classify_python_frame("PyObject_Call") == CodeOrigin::interpreter);
  // Other native modules: C libraries, extensions (named or by offset), the vDSO, an address in no file.
  CHECK(classify_python_frame("deflate (libz.so.1)") == CodeOrigin::native_library);
  CHECK(classify_python_frame("libffi.so.8.5.0+0xc3f8 (libffi.so.8.5.0)") == CodeOrigin::native_library);
  CHECK(classify_python_frame("zlib_Compress_compress (zlib.cpython-311-x86_64-linux-gnu.so)") ==
        CodeOrigin::native_library);
  CHECK(classify_python_frame("SHA256_Update (libcrypto.so.3)") == CodeOrigin::native_library);
  CHECK(classify_python_frame("clock_gettime ([vdso: 1234])") == CodeOrigin::native_library);
  CHECK(classify_python_frame("0x7f0012345678 ([unknown])") == CodeOrigin::native_library);
  // Not native: Python files (with or without a line), names that only look like the C API, marks.
  CHECK(classify_python_frame("work (app.py)") == CodeOrigin::user);
  CHECK(classify_python_frame("PyObject_thing (/srv/app/x.py:3)") == CodeOrigin::user);
  CHECK(classify_python_frame("main (/srv/python3/run.py:1)") == CodeOrigin::user);
  CHECK(classify_python_frame("Python") == CodeOrigin::no_file);
  CHECK(classify_python_frame("pythonic (python_tools)") == CodeOrigin::user);
  CHECK(classify_python_frame("[native stack cut short] (no unwind information)") == CodeOrigin::no_file);

  Palette python(PaletteKind::python, ColorSeed::name_sum);
  int r, g, b;
  for (const char* frame : {"_PyEval_EvalFrameDefault (libpython3.12.so.1.0)", "cfunction_call (python3.11)"}) {
    REQUIRE(std::sscanf(python.color(frame).c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
    CHECK((r == b && g < r - 40));  // purple
  }
  for (const char* frame : {"deflate (libz.so.1)", "compress (zlib.cpython-311-x86_64-linux-gnu.so)"}) {
    REQUIRE(std::sscanf(python.color(frame).c_str(), "rgb(%d,%d,%d)", &r, &g, &b) == 3);
    CHECK((g == b && r < g - 40));  // aqua
  }
  REQUIRE(std::sscanf(python.color("[native stack cut short] (no unwind information)").c_str(), "rgb(%d,%d,%d)", &r,
                      &g, &b) == 3);
  CHECK((r == g && g == b));  // grey
}

TEST_CASE("the java, js and perl palettes read annotations and names as flamegraph.pl does", "[palette]") {
  // Expected colours: flamegraph.pl --colors java / js / perl on the same names.
  Palette java(PaletteKind::java, ColorSeed::name_sum);
  Palette green(PaletteKind::green, ColorSeed::name_sum), aqua(PaletteKind::aqua, ColorSeed::name_sum),
      yellow(PaletteKind::yellow, ColorSeed::name_sum), orange(PaletteKind::orange, ColorSeed::name_sum),
      red(PaletteKind::red, ColorSeed::name_sum);
  CHECK(java.color("Ljava/lang/Thread;::run") == green.color("Ljava/lang/Thread;::run"));
  CHECK(java.color("org/apache/Foo.bar") == green.color("org/apache/Foo.bar"));
  CHECK(java.color("LLjava/x") == red.color("LLjava/x"));  // only one L is skipped
  CHECK(java.color("Interpreter_[i]") == aqua.color("Interpreter_[i]"));
  CHECK(java.color("std::vector::push") == yellow.color("std::vector::push"));
  CHECK(java.color("do_syscall_64_[k]") == orange.color("do_syscall_64_[k]"));
  CHECK(java.color("malloc") == red.color("malloc"));
  Palette js(PaletteKind::js, ColorSeed::name_sum);
  CHECK(js.color("foo /app/x.js:3") == green.color("foo /app/x.js:3"));
  CHECK(js.color("Builtin:Call") == aqua.color("Builtin:Call"));
}

TEST_CASE("the chain palette draws frames after a -- separator as waker frames", "[palette]") {
  Palette chain(PaletteKind::chain, ColorSeed::name_sum);
  Palette aqua(PaletteKind::aqua, ColorSeed::name_sum), blue(PaletteKind::blue, ColorSeed::name_sum);
  CHECK(chain.color("schedule") == blue.color("schedule"));
  CHECK(chain.color("schedule", true) == aqua.color("schedule"));
  CHECK(chain.color("wake_up_process_[w]") == aqua.color("wake_up_process_[w]"));
}

TEST_CASE("differential colours: red grew, blue shrank, white unchanged", "[palette]") {
  CHECK(differential_color(10, 10, false) == "rgb(255,0,0)");
  CHECK(differential_color(-10, 10, false) == "rgb(0,0,255)");
  CHECK(differential_color(0, 10, false) == "rgb(255,255,255)");
  CHECK(differential_color(5, 10, true) == "rgb(105,105,255)");
}

TEST_CASE("background colours follow the palette unless given", "[palette]") {
  std::string from, to;
  REQUIRE(background_colors("", PaletteKind::hot, from, to));
  CHECK(to == "#eeeeb0");
  REQUIRE(background_colors("", PaletteKind::mem, from, to));
  CHECK(to == "#e0ffe0");
  REQUIRE(background_colors("#123abc", PaletteKind::hot, from, to));
  CHECK((from == "#123abc" && to == "#123abc"));
  CHECK_FALSE(background_colors("pink", PaletteKind::hot, from, to));
  CHECK_FALSE(background_colors("#12345", PaletteKind::hot, from, to));
}
