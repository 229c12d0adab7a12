// 3.11+ location table (Objects/locations.md): entries of (code units, line delta by kind), each starting with a
// byte whose top bit is set.
#include "pyfold/record/cpython/line_table.hpp"

namespace pyfold::record {

namespace {
struct Cursor {
  std::string_view t;
  std::size_t i = 0;
  bool more() const { return i < t.size(); }
  unsigned byte() { return i < t.size() ? static_cast<unsigned char>(t[i++]) : 0; }
  unsigned varint() {  // 6-bit chunks, 0x40 = more follow
    unsigned b = byte(), value = b & 63, shift = 0;
    while ((b & 64) && more() && shift < 28) {
      b = byte();
      shift += 6;
      value |= (b & 63) << shift;
    }
    return value;
  }
  int svarint() {
    unsigned v = varint();
    return (v & 1) ? -static_cast<int>(v >> 1) : static_cast<int>(v >> 1);
  }
};
}  // namespace

int location_table_line(std::string_view table, int first_line, long byte_offset) {
  long unit = byte_offset / 2, address = 0;
  long long line = first_line;
  Cursor c{table};
  while (c.more()) {
    unsigned first = c.byte();
    if (!(first & 0x80)) return line;  // not an entry start: a bad table, keep what we have
    unsigned code = (first >> 3) & 15;
    long length = (first & 7) + 1;
    long long entry_line = line;
    bool has_line = true;
    if (code == 15) {
      has_line = false;  // no location
    } else if (code == 14) {  // long form: line delta, end line delta, start column, end column
      line += c.svarint();
      entry_line = line;
      c.varint();
      c.varint();
      c.varint();
    } else if (code == 13) {  // no column
      line += c.svarint();
      entry_line = line;
    } else if (code >= 10) {  // one-line form: line delta code-10, two column bytes
      line += static_cast<int>(code) - 10;
      entry_line = line;
      c.byte();
      c.byte();
    } else {  // short form: same line, one column byte
      c.byte();
    }
    if (unit < address + length) return clamped_line(has_line ? entry_line : line);
    address += length;
  }
  return clamped_line(line);
}

}  // namespace pyfold::record
