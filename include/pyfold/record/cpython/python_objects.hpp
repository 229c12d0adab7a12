#pragma once
// Reading Python objects out of another process's memory: strings, bytes, small ints, dicts, instance attributes. Every read is checked (types, sizes) and a failure is a
// false or empty result, never a crash: the objects may change while they are read.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/cpython/python_layout.hpp"

namespace pyfold::record {

// Where one interpreter's runtime and its core types are in the target, and how its objects are laid out.
struct PythonRuntime {
  Layout layout;
  std::uint64_t runtime = 0;  // &_PyRuntime
  std::uint64_t code_type = 0, unicode_type = 0, bytes_type = 0, long_type = 0;  // &PyCode_Type, ... (long: 0 if unknown)
  std::uint64_t coro_type = 0, gen_type = 0;  // &PyCoro_Type, &PyGen_Type (--async; 0 if unknown)
  // dump --locals: the objects and types it names (0 when the symbol is absent); set_dummy is the address of
  // _PySet_Dummy, the pointer to the key of deleted set entries.
  struct Objects {
    std::uint64_t none = 0, bool_type = 0, float_type = 0, list_type = 0, tuple_type = 0, dict_type = 0,
                  set_type = 0, frozenset_type = 0, cell_type = 0, set_dummy = 0;
  } objects;
  int minor() const { return layout.offsets.minor; }
};

class PythonObjects {
 public:
  PythonObjects(MemoryReader& memory, const PythonRuntime& runtime) : memory_(memory), rt_(runtime) {}
  bool read_string(std::uint64_t address, std::string& out);  // a str, as UTF-8 (lone surrogates -> U+FFFD)
  // Its first max_chars characters at most; length: how many it has.
  bool read_string_prefix(std::uint64_t address, std::uint64_t max_chars, std::string& out, std::uint64_t& length);
  bool read_bytes(std::uint64_t address, std::string& out);   // a bytes object's contents
  bool read_int(std::uint64_t address, std::uint64_t& value);  // a non-negative int below 2**90
  // Several ints in one batched read; ok[i]: values[i] was read. Returns how many were.
  std::size_t read_ints(const std::uint64_t* addresses, std::size_t count, std::uint64_t* values, bool* ok);
  // (key, value) pointers of a dict; slots: where each value's pointer is (its entry or split value).
  bool dict_items(std::uint64_t dict, std::vector<std::pair<std::uint64_t, std::uint64_t>>& items,
                  std::vector<std::uint64_t>* slots = nullptr);
  std::uint64_t dict_get(std::uint64_t dict, std::string_view key);  // 0 when absent
  // From the instance dict (a name of at most 32 ASCII characters); 0 when absent. slot: where the value's pointer is (its dict entry or inline value), to
  // see later whether the attribute was set again.
  std::uint64_t attribute(std::uint64_t object, std::string_view name, std::uint64_t* slot = nullptr);
  // Several attributes (names of at most 32 ASCII characters) from one walk of the instance dict, its keys read in one batch: values[i]
  // (0 when absent) and slots[i] of names[i]. Returns how many were found.
  std::size_t attributes(std::uint64_t object, const std::string_view* names, std::size_t count,
                         std::uint64_t* values, std::uint64_t* slots = nullptr);

 private:
  bool decode_int(const unsigned char* bytes, std::uint64_t& value) const;
  bool keys_items(std::uint64_t keys, std::uint64_t values,
                  std::vector<std::pair<std::uint64_t, std::uint64_t>>& items, std::vector<std::uint64_t>* slots = nullptr);
  MemoryReader& memory_;
  const PythonRuntime& rt_;
};

}  // namespace pyfold::record
