#pragma once
// The names threading gives a process's threads, read from outside: the threading.Thread of a thread is found in
// threading._active by its ident (or, between start() and its registration there, in threading._limbo by its
// _ident), and its name is Thread._name. A name is kept by the thread state's serial (PyThreadState.id, never
// reused), so a new thread that gets an ended one's ident, stack or thread state never shows the ended one's name;
// each update checks the known names for a rename in one batched read.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "pyfold/record/cpython/python_objects.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"
#include "pyfold/record/os/process_memory.hpp"

namespace pyfold::record {

class ThreadNames {
 public:
  ThreadNames(MemoryReader& memory, const PythonRuntime& runtime)
      : memory_(memory), rt_(runtime), objects_(memory, runtime) {}

  // Brings the names of a sample's threads up to date: known ones checked for a rename, new ones looked up
  // (threading._active, then threading._limbo). A thread without frames keeps its name unchecked (its Thread may be
  // gone). Names of threads missing from stacks are forgotten.
  void update(const std::vector<ThreadStack>& stacks);
  // The name of a thread of the last update: "" when threading has no Thread for it (yet), or it cannot be read.
  const std::string& name(const ThreadStack& thread) const;

  // How many lookups of threading's dicts the updates made (for tests: a known thread costs none).
  std::uint64_t lookups() const { return lookups_; }

 private:
  struct Key {
    std::uint64_t interp, serial;
    bool operator==(const Key& o) const { return interp == o.interp && serial == o.serial; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return k.serial * 0x9e3779b97f4a7c15ull ^ k.interp; }
  };
  struct Entry {
    Key key{0, 0};
    std::uint64_t ident = 0;        // threading.get_ident() of the thread
    pid_t tid = 0;                  // its native id (0: unknown)
    std::uint64_t thread = 0;       // its threading.Thread (0: not found yet)
    std::uint64_t slot = 0;         // where the Thread's _name pointer is
    std::uint64_t name_object = 0;  // the str the slot held when the name was read
    std::string name;
    std::uint64_t seen = 0;        // the last update that saw the thread
    std::uint64_t next_try = 0;    // not found yet: the update that looks again
    std::uint64_t misses = 0;      // lookups that did not find it (they are spaced out more and more)
    std::uint64_t named_at = 0;    // the update that last read the name in full
    bool starting = false;         // not found, and no frames yet in the last update: not a miss
  };
  static Key key_of(const ThreadStack& t);
  bool find_dicts();
  void look_up();  // the names of wanted_
  // false: unreadable, or e.thread is not the thread's Thread (the name read before is kept)
  bool read_name(Entry& e);

  MemoryReader& memory_;
  const PythonRuntime& rt_;
  PythonObjects objects_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::uint64_t active_ = 0, limbo_ = 0;  // threading._active and threading._limbo, once found
  std::uint64_t updates_ = 0, lookups_ = 0;
  std::vector<MemoryRange> ranges_;
  std::vector<std::uint64_t> slot_values_;
  std::vector<Entry*> checked_, wanted_;
  std::vector<Entry*> order_;           // the last update's entries, in the order of its stacks
  mutable std::size_t next_asked_ = 0;  // the one name() is likely asked for next
};

}  // namespace pyfold::record
