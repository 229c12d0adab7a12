#include <catch2/catch.hpp>

#include <cstdint>

#include "pyfold/frame_text.hpp"

TEST_CASE("frame text is py-spy's: func (file:line), func (file), func") {
  CHECK(pyfold::frame_text("run", "app.py", 49) == "run (app.py:49)");
  CHECK(pyfold::frame_text("run", "app.py", 0) == "run (app.py)");
  CHECK(pyfold::frame_text("<built-in method builtins.exec>", "", 0) == "<built-in method builtins.exec>");
}

TEST_CASE("frame text cannot break a folded line") {
  CHECK(pyfold::frame_text("a;b\nc", "dir;x/f.py", 3) == "a:b c (dir:x/f.py:3)");
  std::string out = "x;";
  pyfold::append_sanitized(out, "thread\r\t(1)");
  CHECK(out == "x;thread  (1)");
}

namespace {
struct Expected {
  const char* text;
  const char* function;
  const char* file;
  std::uint64_t line;
};
}  // namespace

TEST_CASE("one rule reads every frame pyfold and py-spy write") {
  const Expected cases[] = {
      {"main (app.py:10)", "main", "app.py", 10},
      {"<lambda> (app.py:3)", "<lambda>", "app.py", 3},
      {"<module> (<frozen runpy>:88)", "<module>", "<frozen runpy>", 88},
      {"work (app.py)", "work", "app.py", 0},
      {"malloc (libc.so.6)", "malloc", "libc.so.6", 0},
      {"run (C:\\x\\y.py:7)", "run", "C:\\x\\y.py", 7},
      {"run (C:\\x\\y.py)", "run", "C:\\x\\y.py", 0},
      {"f (a.py:x)", "f", "a.py:x", 0},
      {"f (a.py:)", "f", "a.py:", 0},
      {"f (:12)", "f", ":12", 0},
      {"f (a.py:1234567890123456789)", "f", "a.py:1234567890123456789", 0},  // 19 digits: not a line
      // A path holding " (": the first " (" that leaves the name balanced.
      {"load (/srv/my app (copy)/m.py:22)", "load", "/srv/my app (copy)/m.py", 22},
      {"f (/srv/x (y/m.py:1)", "f", "/srv/x (y/m.py", 1},
      {"f (/srv/a(b/m.py:1)", "f", "/srv/a(b/m.py", 1},
      {"f (/srv/a)b/m.py:1)", "f", "/srv/a)b/m.py", 1},
      // A C++ name holding " (": the last one.
      {"std::function<void (int)>::operator() (libfoo.so)", "std::function<void (int)>::operator()", "libfoo.so", 0},
      {"call<void (*)(int)> (/opt/my lib (2)/libx.so.1)", "call<void (*)(int)>", "/opt/my lib (2)/libx.so.1", 0},
      // A Python name made with code.replace(co_name="f (x)").
      {"f (x) (app.py:3)", "f (x)", "app.py", 3},
      // No location: all name.
      {"idle", "idle", "", 0},
      {"f(x)", "f(x)", "", 0},
      {"f ()", "f ()", "", 0},
      {" (a.py:1)", " (a.py:1)", "", 0},
      {"f (a.py:1) tail", "f (a.py:1) tail", "", 0},
      {"schedule_[k]", "schedule_[k]", "", 0},
      {"f (a.py:1)_[j]", "f (a.py:1)_[j]", "", 0},
      {"thread (12): MainThread", "thread (12): MainThread", "", 0},
      {"[native stack cut short] (no unwind information)", "[native stack cut short]", "no unwind information", 0},
  };
  for (const Expected& e : cases) {
    INFO(e.text);
    pyfold::FrameParts parts = pyfold::parse_frame_text(e.text);
    CHECK(parts.function == e.function);
    CHECK(parts.file == e.file);
    CHECK(parts.line == e.line);
    CHECK(parts.has_line() == (e.line != 0));
    // What is read is written back the same.
    std::string again;
    pyfold::append_frame_parts(again, parts.function, parts.file, parts.line);
    CHECK(again == e.text);
  }
}

TEST_CASE("a line of 0 is read as a line") {
  pyfold::FrameParts parts = pyfold::parse_frame_text("f (a.py:0)");
  CHECK((parts.file == "a.py" && parts.line == 0 && parts.has_line() && parts.line_text == "0"));
}
