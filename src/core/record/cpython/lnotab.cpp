// 3.8-3.9 co_lnotab, as PyCode_Addr2Line: add the byte increments until they pass the offset.
#include "pyfold/record/cpython/line_table.hpp"

namespace pyfold::record {

int lnotab_line(std::string_view table, int first_line, long byte_offset) {
  long address = 0;
  long long line = first_line;
  for (std::size_t i = 0; i + 1 < table.size(); i += 2) {
    address += static_cast<unsigned char>(table[i]);
    if (address > byte_offset) break;
    line += static_cast<signed char>(table[i + 1]);
  }
  return clamped_line(line);
}

}  // namespace pyfold::record
