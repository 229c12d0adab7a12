#include "pyfold/collapse/pstats_direct.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "marshal_builder.hpp"
#include "pyfold/collapse/marshal.hpp"

using namespace pyfold::collapse;
using marshal_test::Bytes;

namespace {

// Both readers' tables, field by field (texts by content, numbers exactly).
void check_same(const std::string& bytes) {
  const marshal::Document doc(bytes, "t.pstats");
  const std::vector<pstats::Function> want = pstats::read_functions(doc);
  std::vector<pstats::Function> got;
  REQUIRE(pstats::read_functions_direct(bytes, got));
  REQUIRE(got.size() == want.size());
  for (std::size_t f = 0; f < got.size(); ++f) {
    INFO("function " << f << " " << want[f].name);
    CHECK(got[f].file == want[f].file);
    CHECK(got[f].name == want[f].name);
    CHECK(got[f].line == want[f].line);
    CHECK(got[f].cc == want[f].cc);
    CHECK(got[f].nc == want[f].nc);
    CHECK(got[f].tt == want[f].tt);
    CHECK(got[f].ct == want[f].ct);
    REQUIRE(got[f].callers.size() == want[f].callers.size());
    for (std::size_t e = 0; e < got[f].callers.size(); ++e) {
      const pstats::Edge &a = got[f].callers[e], &b = want[f].callers[e];
      CHECK(a.caller == b.caller);
      CHECK(a.nc == b.nc);
      CHECK(a.cc == b.cc);
      CHECK(a.tt == b.tt);
      CHECK(a.ct == b.ct);
      CHECK(a.counted == b.counted);
    }
  }
}

}  // namespace

TEST_CASE("pstats direct: Python 3 dumps read as the generic reader reads them", "[pstats]") {
  int direct = 0;
  for (const auto& e : marshal_test::expected_dumps()) {
    const std::string bytes = marshal_test::read_fixture(e.file);
    std::vector<pstats::Function> fns;
    const bool read = pstats::read_functions_direct(bytes, fns);
    INFO(e.file);
    // Python 2's strings and the profile module's code object key are left to the generic reader.
    const bool usual = e.file.find("2.7") == std::string::npos && e.file.rfind("profile-", 0) != 0;
    if (usual) CHECK(read);
    if (!read) continue;
    ++direct;
    check_same(bytes);
  }
  CHECK(direct >= 11);  // cProfile 3.6 to 3.13, enable, names, threads
}

TEST_CASE("pstats direct: refs to keys, strings and numbers; int and 4k caller values; duplicate keys",
          "[pstats]") {
  Bytes b;
  b.dict(true);
  // ref slots: 0 dict, 1 key tuple, 2 "a.py", 3 int 7, 4 "f"
  b.small_tuple(3, true).short_ascii("a.py", true).integer(7, true).short_ascii("f", true);
  b.small_tuple(5).integer(2).integer(3).binary_float(0.5).binary_float(1.5).dict();
  b.ref(1).integer(1);  // f calls itself once: an int caller value
  b.small_tuple(3).ref(2).integer(9).short_ascii("g").tuple(8).integer(1).integer(1).binary_float(0.1)
      .binary_float(0.2).integer(1).integer(1).binary_float(0.1).binary_float(0.3);  // a caller no key names
  b.end();
  // the same key again, as a fresh tuple of equal texts (a merged dump), with a negative tottime
  b.small_tuple(3).long_string('u', "a.py").ref(3).ref(4);
  b.small_tuple(5).integer(1).integer(1).binary_float(-0.25).binary_float(0.5).dict();
  b.small_tuple(3).ref(2).integer(9).short_ascii("g").small_tuple(4).integer(1).integer(1).binary_float(0.0)
      .binary_float(0.1);
  b.end();
  b.small_tuple(3).ref(2).integer(9).short_ascii("g");
  b.small_tuple(5).code('T').code('F').binary_float(0.0).binary_float(0.7).dict().end();
  b.end();
  check_same(b.out);
  std::vector<pstats::Function> fns;
  REQUIRE(pstats::read_functions_direct(b.out, fns));
  REQUIRE(fns.size() == 2);
  CHECK(fns[0].name == "f");
  CHECK(fns[0].nc == 4);
  CHECK(fns[0].callers.size() == 2);  // g's two edges merged, and the self edge
}

TEST_CASE("pstats direct: other shapes are left to the generic reader, never misread", "[pstats]") {
  std::vector<pstats::Function> fns;
  auto leaves = [&](const std::string& bytes) { return !pstats::read_functions_direct(bytes, fns) && fns.empty(); };
  CHECK(leaves(""));
  CHECK(leaves(Bytes().small_tuple(0).out));  // not a dict
  Bytes marker;  // the 3.15 sampling marker: a 1-tuple key
  marker.dict().small_tuple(1).short_ascii("__sampled__").integer(1).end();
  CHECK(leaves(marker.out));
  Bytes unfinished;  // a ref to the key being read
  unfinished.dict().small_tuple(3, true).ref(0).integer(1).short_ascii("f").end();
  CHECK(leaves(unfinished.out));
  Bytes nan;
  nan.dict().small_tuple(3).short_ascii("a").integer(1).short_ascii("f");
  nan.small_tuple(5).integer(1).integer(1).binary_float(std::nan("")).binary_float(1).dict().end().end();
  CHECK(leaves(nan.out));
  // every truncation of a real dump
  const std::string bytes = marshal_test::read_fixture("cprofile-3.11.pstats");
  REQUIRE(pstats::read_functions_direct(bytes, fns));
  for (std::size_t n = 0; n + 1 < bytes.size(); n += 1 + n / 64) CHECK(leaves(bytes.substr(0, n)));
}
