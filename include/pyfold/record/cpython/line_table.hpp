#pragma once
// CPython's line tables: from a code object's table bytes and the offset of the instruction being run, the line.
// One decoder per format. Each returns first_line when the offset is before the first instruction or the table has
// no line there, and never reads outside the bytes it is given.
#include <cstdint>
#include <string_view>

#include "pyfold/record/cpython/python_layout.hpp"

namespace pyfold::record {

// A line number summed from a table read from another process: in 64 bits and clamped, so that a garbage table or
// first line (a frame read as it changed) gives a wrong number, never an int overflow.
inline int clamped_line(long long line) {
  return line < -2147483647LL ? -2147483647 : line > 2147483647LL ? 2147483647 : static_cast<int>(line);
}

// 3.8-3.9 co_lnotab: (bytecode increment u8, line increment s8) pairs; byte_offset = f_lasti.
int lnotab_line(std::string_view table, int first_line, long byte_offset);
// 3.10 co_linetable (PEP 626): (bytecode delta u8, line delta s8, -128 = no line) pairs; byte_offset = 2 * f_lasti.
int linetable310_line(std::string_view table, int first_line, long byte_offset);
// 3.11+ location table (Objects/locations.md); byte_offset from the start of the bytecode (2 bytes per code unit).
int location_table_line(std::string_view table, int first_line, long byte_offset);

inline int line_for(LineTableKind kind, std::string_view table, int first_line, long byte_offset) {
  if (byte_offset < 0) return first_line;
  switch (kind) {
    case LineTableKind::lnotab: return lnotab_line(table, first_line, byte_offset);
    case LineTableKind::linetable310: return linetable310_line(table, first_line, byte_offset);
    case LineTableKind::location_table: return location_table_line(table, first_line, byte_offset);
  }
  return first_line;
}

}  // namespace pyfold::record
