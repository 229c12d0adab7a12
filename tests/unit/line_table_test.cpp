// Line-table decoders (cpython/line_table.hpp) on real code objects' bytes.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "pyfold/record/cpython/line_table.hpp"

using namespace pyfold::record;

namespace {
std::string unhex(const std::string& hex) {
  std::string out;
  if (hex == "-") return out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
}  // namespace

TEST_CASE("line tables: every instruction of real code objects of 3.8-3.15 (tests/unit/data/line_tables.txt)") {
  std::ifstream in(PYFOLD_UNIT_DATA "/line_tables.txt");
  REQUIRE(in);
  std::string line;
  int vectors = 0, checked = 0;
  std::set<int> minors;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int minor, first_line;
    std::string hex, pairs;
    fields >> minor >> first_line >> hex >> pairs;
    Layout layout = layout_for_minor(minor < 13 ? minor : 12);
    std::string table = unhex(hex);
    std::istringstream items(pairs);
    std::string item;
    ++vectors;
    minors.insert(minor);
    while (std::getline(items, item, ',')) {
      long offset = std::stol(item.substr(0, item.find(':')));
      int expected = std::stoi(item.substr(item.find(':') + 1));
      INFO("3." << minor << " first line " << first_line << " table " << hex << " offset " << offset);
      CHECK(line_for(layout.line_table, table, first_line, offset) == expected);
      ++checked;
    }
  }
  CHECK(vectors >= 30);
  CHECK(checked > 500);
  CHECK(minors.size() == 8);
}

TEST_CASE("line tables: before the first instruction, empty and truncated tables give the first line") {
  CHECK(line_for(LineTableKind::location_table, "", 7, -2) == 7);
  CHECK(lnotab_line("", 7, 10) == 7);
  CHECK(linetable310_line("", 7, 10) == 7);
  CHECK(location_table_line("", 7, 10) == 7);
  CHECK(location_table_line(std::string("\xf0", 1), 7, 100) == 7);  // a long-form entry cut short
  CHECK(lnotab_line(std::string("\x04", 1), 7, 10) == 7);           // half a pair
}

TEST_CASE("line tables: a garbage first line or table gives a clamped number, never an int overflow", "[line_table]") {
  // A frame read while it changed can point at any bytes: the sums are made in 64 bits and clamped.
  const int top = 2147483647;
  const std::string one_line_up("\xd8\x01\x00", 3);  // 3.11+: one code unit, one-line form (code 11): line + 1
  CHECK(pyfold::record::location_table_line(one_line_up, top, 0) == top);
  const std::string up_127("\x02\x7f", 2);  // 3.10 and 3.8: two bytes of code, line + 127
  CHECK(pyfold::record::linetable310_line(up_127, top, 0) == top);
  CHECK(pyfold::record::lnotab_line(up_127, top, 4) == top);
  CHECK(pyfold::record::location_table_line(one_line_up, 41, 0) == 42);
}
