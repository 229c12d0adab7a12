// libFuzzer entry: pyflame-pprof's builder and encoder on any folded bytes. The encoded profile must parse as
// protobuf wire format to its last byte, hold one Sample per stack added, and reference only ids and strings it has.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pyfold/folded.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/render/pprof.hpp"

namespace {

bool read_varint(std::string_view data, std::size_t& pos, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < data.size(); shift += 7) {
    auto byte = static_cast<std::uint8_t>(data[pos++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}

// Counts the top-level fields with number `wanted`; traps on malformed wire format.
std::size_t count_fields(std::string_view data, std::uint64_t wanted) {
  std::size_t pos = 0, found = 0;
  while (pos < data.size()) {
    std::uint64_t key = 0, value = 0;
    if (!read_varint(data, pos, key) || !read_varint(data, pos, value)) __builtin_trap();
    if ((key & 7) == 2) {
      if (value > data.size() - pos) __builtin_trap();
      pos += value;
    } else if ((key & 7) != 0) {
      __builtin_trap();
    }
    if ((key >> 3) == wanted) ++found;
  }
  return found;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  pyfold::PprofOptions options;
  if (data[0] & 1) options.interval = pyfold::parse_interval("1ms");
  auto source = pyfold::InputSource::from_string(std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz");
  pyfold::LineReader reader(*source);
  pyfold::PprofBuilder builder(options);
  std::string_view line, reason;
  pyfold::FoldedLine parsed;
  std::size_t added = 0;
  while (reader.next(line)) {
    if (pyfold::parse_folded_line(line, parsed, reason) != pyfold::LineStatus::stack || parsed.count <= 0) continue;
    if (parsed.count > 1e12) continue;  // flame_pprof refuses totals an int64 cannot hold
    builder.add(parsed.stack, parsed.count);
    ++added;
  }
  std::string proto = builder.encode();
  if (count_fields(proto, 2) != added) __builtin_trap();
  if (count_fields(proto, 4) != builder.location_count() || count_fields(proto, 5) != builder.function_count())
    __builtin_trap();
  return 0;
}
