#pragma once
// A bounds-checked reader of Python's marshal format (Python/marshal.c, versions 2 to 4), enough for every object a
// pstats dump can hold: dicts, tuples, lists, sets, strings of every kind, refs (FLAG_REF / 'r') and Python 2
// string refs ('t' / 'R'), ints, longs, floats, None/True/False, and code objects in the 2.7, 3.6-3.7, 3.8-3.10 and
// 3.11-3.13 layouts. Hostile input gives an InputError("SOURCE: offset N: reason"), never a crash: no allocation
// by a claimed count before the bytes are there, containers read with an explicit stack (no recursion), and nested
// code objects limited in depth.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pyfold::collapse::marshal {

using ValueId = std::uint32_t;

enum class Type : std::uint8_t {
  none, boolean, integer, floating, complex, string, bytes, tuple, list, set, dict, code, ellipsis, stop_iteration,
  slice
};

struct Value {
  Type type;
  bool complete;          // false while a container's items are still being read (a ref to it then is an error)
  std::uint32_t offset;   // file offset of the type byte
  std::uint32_t size;     // items (tuple, list, set, slice), key/value pairs (dict), bytes (string, bytes)
  std::uint32_t index;    // first item in Document::items, start of the text in the buffer, or index of the code
  std::int64_t integer;   // integer value (longs beyond 64 bits: clamped; number is exact-ish), boolean 0/1
  double number;          // every number as a double (integer, floating; complex: the real part)
};

// What a pstats reader needs from a code object: the name, file and first line (the key of `profile -o`).
struct Code {
  ValueId name, filename;
  std::int64_t first_line;
  int layout;  // index into kCodeLayoutNames
};
extern const char* const kCodeLayoutNames[4];

class Document {
 public:
  // Parses the first object of bytes; source names the input in messages. Throws InputError.
  Document(std::string bytes, std::string source);

  ValueId root() const { return root_; }
  const Value& operator[](ValueId id) const { return values_[id]; }
  const std::string& source() const { return source_; }
  std::size_t end_offset() const { return end_; }   // offset after the root object
  std::size_t value_count() const { return values_.size(); }
  std::size_t ref_count() const { return refs_; }

  // Items of a tuple, list, set or slice; a dict's keys and values alternate (key0, value0, key1, …).
  const ValueId* items(const Value& v) const { return items_.data() + v.index; }
  std::string_view text(const Value& v) const { return std::string_view(bytes_.data() + v.index, v.size); }
  const Code& code(const Value& v) const { return codes_[v.index]; }

  bool is_string(ValueId id) const { return values_[id].type == Type::string || values_[id].type == Type::bytes; }
  bool is_number(ValueId id) const {
    auto t = values_[id].type;
    return t == Type::integer || t == Type::floating || t == Type::boolean;
  }

  // Throws InputError("SOURCE: offset N: what").
  [[noreturn]] void fail(std::size_t offset, const std::string& what) const;

 private:
  friend class Parser;
  std::string bytes_;
  std::string source_;
  std::vector<Value> values_;
  std::vector<ValueId> items_;
  std::vector<Code> codes_;
  ValueId root_ = 0;
  std::size_t end_ = 0;
  std::size_t refs_ = 0;
};

}  // namespace pyfold::collapse::marshal
