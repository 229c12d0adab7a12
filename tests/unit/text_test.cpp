#include <catch2/catch.hpp>
#include <cstdio>
#include <random>

#include "pyfold/text.hpp"

using namespace pyfold;

TEST_CASE("XML escaping covers markup, forbidden controls and invalid UTF-8", "[text]") {
  std::string out;
  append_xml_escaped(out, "<script>alert(\"x\") & 'y'</script>");
  CHECK(out == "&lt;script&gt;alert(&quot;x&quot;) &amp; 'y'&lt;/script&gt;");
  out.clear();
  append_xml_escaped(out, std::string("a\x01" "b\x1b[0m\tc\0d", 12));
  CHECK(out == "ab[0m\tcd");
  out.clear();
  append_xml_escaped(out, "caf\xC3\xA9 \xFF\xFE ok \xED\xA0\x80 \xEF\xBF\xBE");  // é, bad bytes, a surrogate, U+FFFE
  CHECK(out == "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ");
  out.clear();
  append_xml_escaped(out, "truncated \xE2\x82");
  CHECK(out == "truncated \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("UTF-8 lengths and prefixes count code points", "[text]") {
  std::string s = "\xC3\xA9t\xC3\xA9 \xF0\x9F\x94\xA5!";  // "été 🔥!"
  CHECK(utf8_length(s) == 6);
  CHECK(utf8_prefix_bytes(s, 1) == 2);
  CHECK(utf8_prefix_bytes(s, 4) == 6);
  CHECK(utf8_prefix_bytes(s, 5) == 10);
  CHECK(utf8_prefix_bytes(s, 99) == s.size());
}

TEST_CASE("thousands separators as flamegraph.pl writes them", "[text]") {
  CHECK(with_thousands("0") == "0");
  CHECK(with_thousands("999") == "999");
  CHECK(with_thousands("1000") == "1,000");
  CHECK(with_thousands("1234567") == "1,234,567");
  CHECK(with_thousands("-1234") == "-1,234");
}

TEST_CASE("fast number printing is printf's, ties included", "[text]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> wide(-5000, 5000);
  char buf[64];
  auto check = [&](double v) {
    for (int d = 0; d <= 2; ++d) {
      std::snprintf(buf, sizeof buf, "%.*f", d, v);
      INFO(v << " with " << d << " decimals");
      REQUIRE(fixed(v, d) == buf);
      REQUIRE(round_as_printed(v, d) == std::strtod(buf, nullptr));
    }
    std::snprintf(buf, sizeof buf, "%.15g", v);
    std::string expected = v == 0 ? "0" : buf;
    INFO(v);
    REQUIRE(perl_number(v) == expected);
  };
  for (int i = 0; i < 200000; ++i) check(wide(rng));
  for (int i = 0; i < 20000; ++i) check(static_cast<double>(static_cast<int>(wide(rng))) + 0.5);   // halves
  for (int i = 0; i < 20000; ++i) check(static_cast<double>(static_cast<int>(wide(rng) * 10)) / 20);  // .x5 ties
  for (double v : {0.0, -0.0, 0.05, 0.15, 0.25, 2.675, 1e12, 1e15, 123456789.125, 1e-7}) check(v);
}

TEST_CASE("hash128 tells names apart and is stable within a process", "[text]") {
  CHECK(hash128("abc") == hash128("abc"));
  CHECK_FALSE(hash128("abc") == hash128("abd"));
  CHECK_FALSE(hash128("") == hash128(std::string(1, '\0')));
  CHECK_FALSE(hash128(std::string(16, 'a')) == hash128(std::string(17, 'a')));
}
