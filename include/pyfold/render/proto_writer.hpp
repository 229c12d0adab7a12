#pragma once
// A protobuf wire-format writer, just what profile.proto needs: varints (uint64, int64, bool) and length-delimited
// fields (strings, nested messages, packed repeated varints). https://protobuf.dev/programming-guides/encoding/
#include <cstdint>
#include <string>
#include <string_view>

namespace pyfold {

class ProtoWriter {
 public:
  enum WireType : std::uint32_t { kVarint = 0, kLengthDelimited = 2 };

  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>(value | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  void tag(std::uint32_t field, WireType type) { varint((static_cast<std::uint64_t>(field) << 3) | type); }
  // An int64/uint64 field; proto3 leaves zero out.
  void int_field(std::uint32_t field, std::int64_t value) {
    if (value == 0) return;
    tag(field, kVarint);
    varint(static_cast<std::uint64_t>(value));  // int64 negatives are 10 bytes, two's complement
  }
  // A string, bytes or embedded message field (written even when empty: a repeated string keeps its place).
  void bytes_field(std::uint32_t field, std::string_view bytes) {
    tag(field, kLengthDelimited);
    varint(bytes.size());
    out_.append(bytes);
  }
  void append_raw(std::string_view bytes) { out_.append(bytes); }
  void clear() { out_.clear(); }
  const std::string& bytes() const { return out_; }
  std::string& mutable_bytes() { return out_; }

 private:
  std::string out_;
};

// The number of bytes varint(value) takes.
inline std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) value >>= 7, ++size;
  return size;
}

}  // namespace pyfold
