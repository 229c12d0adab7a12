// Attaching to a CPython (cpython/python_process.hpp): the version's last resort.
#include <catch2/catch.hpp>

#include <string>

#include "pyfold/record/cpython/python_process.hpp"

using namespace pyfold::record;

TEST_CASE("version from the sys.version text in memory, the last resort of version detection") {
  using namespace std::string_literals;
  CHECK(minor_from_version_text("\0\0003.10.13 (main, May  9 2026, 07:33:04) [GCC 12.2.0]\0"s) == 10);
  CHECK(minor_from_version_text("\0003.8.18 (default, May  9 2026, 07:33:04) \n[GCC 12.2.0]"s) == 8);
  CHECK(minor_from_version_text("\0003.9.18+ (heads/3.9:abc, Jan 1 2026) [GCC]"s) == 9);
  CHECK(minor_from_version_text("libfoo 3.2.0\0"s) == 0);           // no parenthesis: not sys.version
  CHECK(minor_from_version_text("x3.10.1 (main)"s) == 0);           // not at a string's start
  CHECK(minor_from_version_text("\0003.10.1\0 (main)"s) == 0);      // the parenthesis is in another string
  CHECK(minor_from_version_text(""s) == 0);
}
