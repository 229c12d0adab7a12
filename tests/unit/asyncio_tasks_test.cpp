// --async: the _Py_AsyncioModuleDebugOffsets parser and the 3.14/3.15 layouts' coroutine fields.
#include <catch2/catch.hpp>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "pyfold/record/cpython/asyncio_tasks.hpp"
#include "pyfold/record/cpython/python_layout.hpp"

using namespace pyfold::record;

namespace {
// The section's bytes as Debian's CPython 3.14 _asyncio module holds them (readelf -x .AsyncioDebug).
std::vector<unsigned char> section(std::vector<std::uint64_t> values) {
  std::vector<unsigned char> bytes(values.size() * 8);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}
const std::vector<std::uint64_t> k314 = {168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880};
}  // namespace

TEST_CASE("the asyncio offsets are parsed in their struct's order", "[asyncio]") {
  auto bytes = section(k314);
  AsyncioOffsets o = asyncio_offsets_from(bytes.data(), bytes.size());
  CHECK(o.task_size == 168);
  CHECK(o.task_name == 136);
  CHECK(o.task_awaited_by == 96);
  CHECK(o.task_is_task == 108);
  CHECK(o.task_awaited_by_is_set == 109);
  CHECK(o.task_coro == 128);
  CHECK(o.task_node == 152);
  CHECK(o.interp_tasks_head == 10880);
  CHECK(o.running_loop == 864);
  CHECK(o.running_task == 872);
  CHECK(o.tstate_tasks_head == 880);
}

TEST_CASE("asyncio offsets outside their struct, or a short section, are refused", "[asyncio]") {
  auto short_bytes = section(k314);
  CHECK_THROWS_AS(asyncio_offsets_from(short_bytes.data(), 96), std::runtime_error);
  auto bad = k314;
  bad[6] = 160;  // task_node + 16 > task size
  auto bytes = section(bad);
  CHECK_THROWS_AS(asyncio_offsets_from(bytes.data(), bytes.size()), std::runtime_error);
  bad = k314;
  bad[11] = 936;  // running_task at the end of the thread state
  bytes = section(bad);
  CHECK_THROWS_AS(asyncio_offsets_from(bytes.data(), bytes.size()), std::runtime_error);
}

TEST_CASE("only the layouts read through 3.14+ debug offsets know coroutines", "[asyncio]") {
  for (int minor = 8; minor <= 12; ++minor) CHECK(layout_for_minor(minor).coroutines.gen_iframe == -1);
  // The frame states come from the headers: 3.14 counts suspended states below zero, 3.15 from zero.
  for (std::size_t i = 0; i < kVersionConstantCount; ++i) {
    const VersionConstants& v = kVersionConstants[i];
    if (v.minor == 14) CHECK((v.frame_yield_from == -1 && v.frame_executing == 0 && v.frame_cleared == 4));
    if (v.minor == 15)
      CHECK((v.frame_yield_from == 2 && v.frame_yield_from_locked == 3 && v.frame_executing == 4 && v.frame_cleared == 5));
  }
  CHECK(kDebugOffsets313.gen_iframe == -1);
  CHECK(kDebugOffsets314.gen_iframe > 0);
  CHECK(kDebugOffsets315.llist_next > 0);
}
