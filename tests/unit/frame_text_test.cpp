#include <catch2/catch.hpp>

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
