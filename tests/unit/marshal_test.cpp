#include "pyfold/collapse/marshal.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <cmath>

#include "marshal_builder.hpp"
#include "pyfold/diagnostics.hpp"

using namespace pyfold;
using namespace pyfold::collapse::marshal;
using marshal_test::Bytes;

namespace {
Document parse(const Bytes& b) { return Document(b.out, "t.pstats"); }
std::string error_of(const std::string& bytes) {
  try {
    Document d(bytes, "t.pstats");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
const Value& item(const Document& d, const Value& v, std::size_t k) { return d[d.items(v)[k]]; }
}  // namespace

TEST_CASE("marshal: scalars", "[marshal]") {
  SECTION("None, True, False, Ellipsis, StopIteration") {
    Bytes b;
    b.small_tuple(5).code('N').code('T').code('F').code('.').code('S');
    Document d = parse(b);
    const Value& t = d[d.root()];
    REQUIRE(t.type == Type::tuple);
    REQUIRE(t.size == 5);
    CHECK(item(d, t, 0).type == Type::none);
    CHECK(item(d, t, 1).type == Type::boolean);
    CHECK(item(d, t, 1).integer == 1);
    CHECK(item(d, t, 2).integer == 0);
    CHECK(item(d, t, 3).type == Type::ellipsis);
    CHECK(item(d, t, 4).type == Type::stop_iteration);
  }
  SECTION("int, int64 (Python 2), negative") {
    Bytes b;
    b.small_tuple(3).integer(-7).code('I').i32(0).i32(1).integer(2147483647);
    Document d = parse(b);
    const Value& t = d[d.root()];
    CHECK(item(d, t, 0).integer == -7);
    CHECK(item(d, t, 1).integer == (std::int64_t(1) << 32));
    CHECK(item(d, t, 2).number == 2147483647.0);
  }
  SECTION("long: base 2^15 digits, sign in the count") {
    Bytes b;
    // 2**31 = digits [0, 0, 2]; -(2**15 + 5) = -2 digits [5, 1]; 2**90 = 7 digits, the last 1
    b.small_tuple(3).code('l').i32(3).u8(0).u8(0).u8(0).u8(0).u8(2).u8(0);
    b.code('l').i32(-2).u8(5).u8(0).u8(1).u8(0);
    b.code('l').i32(7);
    for (int k = 0; k < 6; ++k) b.u8(0).u8(0);
    b.u8(1).u8(0);
    Document d = parse(b);
    const Value& t = d[d.root()];
    CHECK(item(d, t, 0).integer == 2147483648LL);
    CHECK(item(d, t, 1).integer == -(32768 + 5));
    CHECK(item(d, t, 2).number == std::ldexp(1.0, 90));
    CHECK(item(d, t, 2).integer == INT64_MAX);
  }
  SECTION("a long past the double range: +inf and INT64_MAX, never NaN (fuzz finding)") {
    Bytes b;
    b.code('l').i32(80);  // 2**(15*79): 0 * 32768**k overflowed to 0 * inf = NaN, then an invalid conversion
    for (int k = 0; k < 79; ++k) b.u8(0).u8(0);
    b.u8(1).u8(0);
    Document d = parse(b);
    CHECK(d[d.root()].number == std::numeric_limits<double>::infinity());
    CHECK(d[d.root()].integer == INT64_MAX);
  }
  SECTION("binary and text floats, complex") {
    Bytes b;
    b.small_tuple(4).binary_float(5.267e-06).code('f').u8(4).raw("1.25").code('x').u8(3).raw("2.5").u8(1).raw("0");
    b.code('y');
    b.binary_float(-3.0).out.erase(b.out.size() - 9, 1);  // 'y' then two raw doubles
    b.binary_float(4.0).out.erase(b.out.size() - 9, 1);
    Document d = parse(b);
    const Value& t = d[d.root()];
    CHECK(item(d, t, 0).number == 5.267e-06);
    CHECK(item(d, t, 0).type == Type::floating);
    CHECK(item(d, t, 1).number == 1.25);
    CHECK(item(d, t, 2).type == Type::complex);
    CHECK(item(d, t, 2).number == 2.5);
    CHECK(item(d, t, 3).number == -3.0);
  }
}

TEST_CASE("marshal: strings of every kind", "[marshal]") {
  Bytes b;
  std::string long_name(300, 'x');
  b.small_tuple(7).short_ascii("rec.py").short_ascii("a", false, 'Z').long_string('a', long_name);
  b.long_string('A', "interned").long_string('u', "m\xc3\xb3" "dulo").long_string('t', "funci\xc3\xb3n");
  b.long_string('s', std::string("\x00\x01", 2));
  Document d = parse(b);
  const Value& t = d[d.root()];
  CHECK(d.text(item(d, t, 0)) == "rec.py");
  CHECK(d.text(item(d, t, 1)) == "a");
  CHECK(d.text(item(d, t, 2)) == long_name);
  CHECK(d.text(item(d, t, 3)) == "interned");
  CHECK(d.text(item(d, t, 4)) == "m\xc3\xb3" "dulo");
  CHECK(d.text(item(d, t, 5)) == "funci\xc3\xb3n");
  CHECK(item(d, t, 6).type == Type::bytes);
  CHECK(d.text(item(d, t, 6)).size() == 2);
}

TEST_CASE("marshal: containers", "[marshal]") {
  SECTION("tuple (32-bit size), list, set, frozenset, slice, empty ones") {
    Bytes b;
    b.tuple(6).code('[').i32(2).integer(1).integer(2).code('<').i32(1).code('N').code('>').i32(0);
    b.code(':').code('N').integer(3).code('N').small_tuple(0).dict().end();
    Document d = parse(b);
    const Value& t = d[d.root()];
    REQUIRE(t.size == 6);
    CHECK(item(d, t, 0).type == Type::list);
    CHECK(item(d, item(d, t, 0), 1).integer == 2);
    CHECK(item(d, t, 1).type == Type::set);
    CHECK(item(d, t, 2).size == 0);
    CHECK(item(d, t, 3).type == Type::slice);
    CHECK(item(d, item(d, t, 3), 1).integer == 3);
    CHECK(item(d, t, 4).size == 0);
    CHECK(item(d, t, 5).type == Type::dict);
    CHECK(item(d, t, 5).size == 0);
  }
  SECTION("dict: keys and values alternate, nested dicts") {
    Bytes b;
    b.dict().short_ascii("k").dict().integer(1).integer(2).end().short_ascii("j").code('N').end();
    Document d = parse(b);
    const Value& m = d[d.root()];
    REQUIRE(m.size == 2);
    CHECK(d.text(item(d, m, 0)) == "k");
    CHECK(item(d, m, 1).size == 1);
    CHECK(item(d, item(d, m, 1), 1).integer == 2);
    CHECK(d.text(item(d, m, 2)) == "j");
  }
  SECTION("deep nesting uses no recursion") {
    Bytes b;
    const int depth = 200000;
    for (int k = 0; k < depth; ++k) b.small_tuple(1);
    b.code('N');
    Document d = parse(b);
    CHECK(d.value_count() == depth + 1);
  }
}

TEST_CASE("marshal: refs", "[marshal]") {
  SECTION("FLAG_REF numbering is pre-order: a container takes its slot before its items") {
    Bytes b;
    // {0: ( 'a'|F #1, 5|F #2 ), ...} root dict #0
    b.dict(true).short_ascii("k", true).small_tuple(2, true).short_ascii("a", true).integer(5, true);
    b.short_ascii("again").small_tuple(4).ref(0 + 1).ref(2).ref(3).ref(4).end();
    // refs: #0 dict, #1 'k', #2 tuple, #3 'a', #4 5
    Document d = parse(b);
    const Value& m = d[d.root()];
    const Value& again = item(d, m, 3);
    CHECK(d.text(item(d, again, 0)) == "k");
    CHECK(item(d, again, 1).type == Type::tuple);
    CHECK(d.text(item(d, again, 2)) == "a");
    CHECK(item(d, again, 3).integer == 5);
    CHECK(d.ref_count() == 5);
  }
  SECTION("flagged singletons take no ref slot (as in CPython)") {
    Bytes b;
    b.small_tuple(3).code('N', true).short_ascii("a", true).ref(0);
    Document d = parse(b);
    CHECK(d.text(item(d, d[d.root()], 2)) == "a");
    CHECK(d.ref_count() == 1);
  }
  SECTION("a ref out of range is an error with its offset") {
    Bytes b;
    b.small_tuple(2).short_ascii("a", true).ref(1);
    CHECK(error_of(b.out) == "t.pstats: offset 5: ref 1 out of range (1 objects so far)");
    Bytes n;
    n.small_tuple(1).ref(-1);
    CHECK(error_of(n.out) == "t.pstats: offset 2: ref -1 out of range (0 objects so far)");
  }
  SECTION("a ref to a container still being read is an error (no cycles)") {
    Bytes b;
    b.small_tuple(1, true).ref(0);
    CHECK(error_of(b.out) == "t.pstats: offset 2: ref 0 to an unfinished object");
  }
  SECTION("Python 2 string refs: 't' strings are numbered, 'R' refers to them") {
    Bytes b;
    b.small_tuple(3).long_string('t', "name").long_string('t', "other").code('R').i32(0);
    Document d = parse(b);
    CHECK(d.text(item(d, d[d.root()], 2)) == "name");
    Bytes bad;
    bad.small_tuple(2).long_string('t', "name").code('R').i32(1);
    CHECK(error_of(bad.out) == "t.pstats: offset 11: string ref 1 out of range (1 interned strings so far)");
  }
}

TEST_CASE("marshal: hostile sizes and codes", "[marshal]") {
  SECTION("a tuple claiming 2^31-1 items in a small file is an error, not an allocation") {
    Bytes b;
    b.tuple(0x7fffffff);
    b.out.append(100, 'N');
    CHECK_THAT(error_of(b.out), Catch::Contains("offset 0: container size 2147483647 is more than the 100 bytes left"));
  }
  SECTION("negative sizes and lengths") {
    Bytes b;
    b.tuple(-1);
    CHECK_THAT(error_of(b.out), Catch::Contains("offset 0: negative container size -1"));
    Bytes s;
    s.code('u').i32(-5);
    CHECK_THAT(error_of(s.out), Catch::Contains("offset 0: negative string length"));
    Bytes l;
    l.code('l').i32(1 << 30);
    CHECK_THAT(error_of(l.out), Catch::Contains("offset 0: long of 1073741824 digits"));
  }
  SECTION("a string longer than the file") {
    Bytes s;
    s.code('a').i32(1000).raw("abc");
    CHECK_THAT(error_of(s.out), Catch::Contains("offset 0: string length 1000 is more than the 3 bytes left"));
    Bytes z;
    z.code('z').u8(10).raw("abc");
    CHECK_THAT(error_of(z.out), Catch::Contains("offset 0: truncated short string"));
  }
  SECTION("unknown codes, NULL outside a dict, a dict ending after a key") {
    CHECK(error_of("?") == "t.pstats: offset 0: unknown marshal type code 0x3f");
    CHECK(error_of(std::string(1, '\xff')) == "t.pstats: offset 0: unknown marshal type code 0xff");
    CHECK(error_of(")\x01" "0") == "t.pstats: offset 2: NULL (type code '0') outside a dict");
    Bytes d;
    d.dict().integer(1).end();
    CHECK(error_of(d.out) == "t.pstats: offset 6: dict ends after a key without a value");
    CHECK(error_of("") == "t.pstats: offset 0: empty input");
  }
  SECTION("bad long digits") {
    Bytes b;
    b.code('l').i32(1).u8(0).u8(0x80);
    CHECK_THAT(error_of(b.out), Catch::Contains("bad long digit 32768"));
    Bytes z;
    z.code('l').i32(1).u8(0).u8(0);
    CHECK_THAT(error_of(z.out), Catch::Contains("leading zero digit"));
  }
}

namespace {
// A code object in one layout: `ints` i32 fields, 8 objects (b: bytes, t: tuple, s: string; the name at name_at,
// written with FLAG_REF), co_firstlineno, `tail` bytes objects.
Bytes code_object(int ints, const char* kinds, int name_at, int tail) {
  Bytes b;
  b.code('c', true);
  for (int k = 0; k < ints; ++k) b.i32(0);
  for (int k = 0; k < 8; ++k) {
    if (kinds[k] == 'b') b.long_string('s', std::string("\x97\x00", 2));
    if (kinds[k] == 't') b.small_tuple(0);
    if (kinds[k] == 's') {
      if (k == name_at) {
        b.short_ascii("<module>", true, 'Z');
      } else {
        b.short_ascii("prog.py");
      }
    }
  }
  b.i32(1);
  for (int k = 0; k < tail; ++k) b.long_string('s', "");
  return b;
}
}  // namespace

TEST_CASE("marshal: code objects in every layout", "[marshal]") {
  struct Case {
    int ints;
    const char* kinds;
    int name_at, tail;
    const char* layout;
  };
  const Case cases[] = {{5, "btttbsss", 6, 2, "3.11-3.13"},
                        {6, "btttttss", 7, 1, "3.8-3.10"},
                        {5, "btttttss", 7, 1, "3.6-3.7"},
                        {4, "btttttss", 7, 1, "2.7"}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION("layout " << c.layout) {
      // ('profile', 0, <code>, ref to the code's name), as `profile -o` refers back into the code object.
      // refs: #0 the tuple, #1 the code object (reserved before its fields), #2 its name.
      Bytes b;
      b.small_tuple(4, true).short_ascii("profile").integer(0);
      b.raw(code_object(c.ints, c.kinds, c.name_at, c.tail).out).ref(2);
      Document d = parse(b);
      const Value& t = d[d.root()];
      const Value& cv = item(d, t, 2);
      REQUIRE(cv.type == Type::code);
      const Code& info = d.code(cv);
      CHECK(std::string(kCodeLayoutNames[info.layout]) == c.layout);
      CHECK(d.text(d[info.name]) == "<module>");
      CHECK(d.text(d[info.filename]) == "prog.py");
      CHECK(info.first_line == 1);
      CHECK(d.text(item(d, t, 3)) == "<module>");
      CHECK(d.end_offset() == b.out.size());
    }
  }
  SECTION("a code object that fits no layout is an error") {
    Bytes b;
    b.code('c');
    for (int k = 0; k < 6; ++k) b.i32(0);
    b.integer(1);  // code bytes expected
    CHECK_THAT(error_of(b.out), Catch::Contains("offset 0: code object fits no known layout"));
  }
  SECTION("code objects nested too deeply") {
    Bytes b;
    for (int k = 0; k < 100; ++k) {
      b.code('c');
      for (int j = 0; j < 5; ++j) b.i32(0);
      b.long_string('s', "");
      b.small_tuple(1);
    }
    CHECK_THAT(error_of(b.out), Catch::Contains("code objects nested too deeply"));
  }
}

TEST_CASE("marshal: real dumps from every Python parse, and every truncation is a clean error", "[marshal]") {
  for (const auto& e : marshal_test::expected_dumps()) {
    DYNAMIC_SECTION(e.file) {
      std::string bytes = marshal_test::read_fixture(e.file);
      REQUIRE(bytes.size() > 100);
      Document d(bytes, e.file);
      CHECK(d[d.root()].type == Type::dict);
      CHECK(d.end_offset() == bytes.size());
      for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        std::string prefix = bytes.substr(0, cut);
        std::string message = error_of(prefix);
        INFO("cut at " << cut);
        REQUIRE_THAT(message, Catch::StartsWith("t.pstats: offset "));
      }
    }
  }
}

TEST_CASE("marshal: profile -o dumps hold a code object in the layout of their Python", "[marshal]") {
  const std::pair<const char*, const char*> cases[] = {
      {"profile-2.7.pstats", "2.7"},       {"profile-3.6.pstats", "3.6-3.7"},   {"profile-3.7.pstats", "3.6-3.7"},
      {"profile-3.8.pstats", "3.8-3.10"},  {"profile-3.9.pstats", "3.8-3.10"},  {"profile-3.10.pstats", "3.8-3.10"},
      {"profile-3.11.pstats", "3.11-3.13"}, {"profile-3.12.pstats", "3.11-3.13"}, {"profile-3.13.pstats", "3.11-3.13"}};
  for (auto [file, layout] : cases) {
    DYNAMIC_SECTION(file) {
      Document d(marshal_test::read_fixture(file), file);
      const Value& m = d[d.root()];
      bool found = false;
      for (std::uint32_t k = 0; k < m.size; ++k) {
        const Value& key = d[d.items(m)[2 * k]];
        if (key.type != Type::tuple || key.size != 3) continue;
        const Value& name = item(d, key, 2);
        if (name.type != Type::code) continue;
        found = true;
        CHECK(std::string(kCodeLayoutNames[d.code(name).layout]) == layout);
        CHECK(d.text(d[d.code(name).name]) == "<module>");
        CHECK(d.code(name).first_line >= 1);
      }
      CHECK(found);
    }
  }
}
