#pragma once
// Short reprs of Python objects read from another process's memory, and a frame's arguments and local variables
// (pyfold dump --locals). Only memory is read, never code run: None, bool, int, float, str, bytes, and tuple, list,
// dict, set and frozenset a few levels deep and a few items wide are shown as Python shows them; any other object
// as <TYPE at 0xADDR>. Nothing read is trusted: lengths, depth and items are bounded, a cycle is shown as Python
// shows it, and an object that cannot be read is <unreadable>.
#include <cstdint>
#include <string>
#include <vector>

#include "pyfold/record/cpython/python_objects.hpp"
#include "pyfold/record/os/process_memory.hpp"

namespace pyfold::record {

struct LocalVariable {
  std::string name;
  std::string repr;
  bool argument = false;
};

class ObjectRepr {
 public:
  static constexpr std::uint64_t kMaxChars = 80;   // of a str or bytes shown; the rest is cut with "…"
  static constexpr int kMaxDepth = 3;              // containers inside containers shown
  static constexpr std::uint64_t kMaxItems = 8;    // items of a container shown
  static constexpr std::uint64_t kMaxIntDigits = 100;  // decimal digits of an int shown

  ObjectRepr(MemoryReader& memory, const PythonRuntime& runtime) : memory_(memory), rt_(runtime), objects_(memory, runtime) {}

  std::string repr(std::uint64_t object);
  // The arguments (first, in order) and the bound local, cell and free variables of the frame at frame
  // (FrameRef::address). Unbound variables are left out. Empty with a reason when the frame's code cannot be read.
  std::vector<LocalVariable> frame_locals(std::uint64_t frame, std::string& problem);

 private:
  void append(std::string& out, std::uint64_t object, int depth);
  bool append_int(std::string& out, std::uint64_t object, bool as_bool);
  bool append_float(std::string& out, std::uint64_t object);
  bool append_str(std::string& out, std::uint64_t object);
  bool append_bytes(std::string& out, std::uint64_t object);
  bool append_sequence(std::string& out, std::uint64_t object, bool tuple, int depth);
  bool append_dict(std::string& out, std::uint64_t object, int depth);
  bool append_set(std::string& out, std::uint64_t object, bool frozen, int depth);
  void append_other(std::string& out, std::uint64_t object, std::uint64_t type);
  bool read_tuple(std::uint64_t tuple, std::vector<std::uint64_t>& items, std::uint64_t max_items);
  bool read_names(std::uint64_t tuple, std::vector<std::string>& names);
  std::uint64_t cell_contents(std::uint64_t object);

  MemoryReader& memory_;
  const PythonRuntime& rt_;
  PythonObjects objects_;
  std::vector<std::uint64_t> path_;  // the containers being shown, outermost first (a cycle shows as [...])
};

}  // namespace pyfold::record
