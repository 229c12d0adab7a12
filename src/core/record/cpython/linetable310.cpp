// 3.10 co_linetable (PEP 626), as _PyCode_CheckLineNumber: ranges of bytecode, each with a line or none.
#include "pyfold/record/cpython/line_table.hpp"

namespace pyfold::record {

int linetable310_line(std::string_view table, int first_line, long byte_offset) {
  long end = 0;
  long long line = first_line, last_known = first_line;
  for (std::size_t i = 0; i + 1 < table.size(); i += 2) {
    long start = end;
    end += static_cast<unsigned char>(table[i]);
    int delta = static_cast<signed char>(table[i + 1]);
    if (delta != -128) line += delta;
    if (start == end) continue;  // a line change with no bytecode
    if (delta != -128) last_known = line;
    if (byte_offset >= start && byte_offset < end) return clamped_line(last_known);
  }
  return clamped_line(last_known);
}

}  // namespace pyfold::record
