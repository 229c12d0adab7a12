// Attaching to a CPython (cpython/python_process.hpp): the version's last resort; a refusal's message made only
// when asked.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

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

TEST_CASE("a refusal's message is made on the first what(), once, and not for an error thrown away") {
  static_assert(std::is_nothrow_copy_constructible_v<AttachError>, "errors are copied while thrown");
  int made = 0;
  auto describe = [&made] {
    ++made;
    return std::string("cannot read the memory of PID 7 (permission refused): why. To fix: how.");
  };
  try {
    throw AttachError(AttachError::Kind::permission, "brief", describe);
  } catch (const AttachError& e) {
    CHECK(e.kind() == AttachError::Kind::permission);  // what a poll looks at: nothing made
  }
  CHECK(made == 0);
  try {
    throw AttachError(AttachError::Kind::permission, "brief", describe);
  } catch (const AttachError& e) {
    const AttachError copy = e;
    CHECK(std::string(e.what()) == "cannot read the memory of PID 7 (permission refused): why. To fix: how.");
    CHECK(std::string(copy.what()) == e.what());
    CHECK(made == 1);
  }
  AttachError failing(AttachError::Kind::permission, "brief", []() -> std::string { throw std::bad_alloc(); });
  CHECK(std::string(failing.what()) == "brief");
  // The diagnosis of a real refusal, asked of this process: the message refusal_message makes.
  const AttachError refused = AttachError::refused(getpid());
  CHECK(refused.kind() == AttachError::Kind::permission);
  CHECK(std::string(refused.what()).rfind("cannot read the memory of PID " + std::to_string(getpid()) +
                                          " (permission refused): ", 0) == 0);
}
