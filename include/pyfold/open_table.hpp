#pragma once
// The one hand-written hash table of pyfold: open addressing with linear probing over a power-of-two array of
// caller-defined slots. The caller decides what a slot holds and when two are the same (probe's match), so a hot
// table keeps its key, hash bits and value in one slot and a lookup is one memory access; the table only finds,
// fills and grows. Used by the interned-string table (string_table.hpp), the stack tree's paths, and the
// collapsers' caches. Where a lookup is not hot, std::unordered_map is simpler and fine.
//
// Slot: trivially copyable, all zero bytes is a free slot, and slot.empty() tells. Large arrays are mapped zeroed
// and faulted in up front, on huge pages where the kernel allows (probes are random: with 4 KB pages nearly every
// one would also miss the TLB).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace pyfold {

namespace open_table_memory {
// Zeroed memory for bytes (mapped when large); free_zeroed takes back what allocate_zeroed gave.
struct Zeroed {
  void* memory;
  bool mapped;
};
Zeroed allocate_zeroed(std::size_t bytes);
void free_zeroed(Zeroed zeroed, std::size_t bytes);
}  // namespace open_table_memory

template <typename Slot>
class OpenTable {
  static_assert(std::is_trivially_copyable_v<Slot>, "slots are copied and zeroed as bytes");

 public:
  // capacity: rounded up to a power of two; 0 leaves the table unallocated until reset() or the first occupy().
  explicit OpenTable(std::size_t capacity = 0) { reset(capacity); }

  // The slot that matches (match(slot) is true), or the free slot where it belongs. The table must be allocated.
  template <typename Match>
  Slot* probe(std::uint64_t hash, Match&& match) {
    const std::size_t mask = capacity_ - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.empty() || match(slot)) return &slot;
    }
  }
  template <typename Match>
  const Slot* find(std::uint64_t hash, Match&& match) const {
    if (capacity_ == 0) return nullptr;
    const Slot* slot = const_cast<OpenTable*>(this)->probe(hash, match);
    return slot->empty() ? nullptr : slot;
  }

  // Fills the free slot probe() returned, then grows when 70% full (pointers into the table are then stale):
  // hash_of(slot) gives a slot's hash again, for the move.
  template <typename HashOf>
  void occupy(Slot* where, const Slot& value, HashOf&& hash_of) {
    if (std::size_t capacity = fill(where, value)) grow(capacity, hash_of);
  }
  // The same for an owner that rebuilds the table itself from its own records (in their order, which may be
  // cheaper than moving slots whose hash lives elsewhere): fills, and returns the capacity to rebuild at
  // (reset(capacity), then insert_new() of every record), or 0 while there is room.
  std::size_t fill(Slot* where, const Slot& value) {
    *where = value;
    if (++used_ * 10 <= capacity_ * 7) return 0;
    // Quadrupling while the table is small (under a million slots) halves the number of moves of a large one.
    return capacity_ < (std::size_t{1} << 20) ? capacity_ * 4 : capacity_ * 2;
  }
  // Adds a slot known to be absent (rebuilding a table from its owner's records); the table must have room.
  void insert_new(std::uint64_t hash, const Slot& value) {
    *probe(hash, [](const Slot&) { return false; }) = value;
    ++used_;
  }

  // Asks the CPU to fetch the slot a lookup of hash starts at.
  void prefetch(std::uint64_t hash) const {
    if (capacity_ != 0) __builtin_prefetch(&slots_[hash & (capacity_ - 1)]);
  }

  // Empties the table, with room for at least capacity slots (0: frees it).
  void reset(std::size_t capacity) {
    slots_.reset();
    capacity_ = used_ = 0;
    if (capacity == 0) return;
    std::size_t rounded = 16;
    while (rounded < capacity) rounded *= 2;
    slots_ = allocate(rounded);
    capacity_ = rounded;
  }
  // The capacity that holds n slots without growing.
  static std::size_t capacity_for(std::size_t n) {
    std::size_t capacity = 16;
    while (n * 10 >= capacity * 7) capacity *= 2;
    return capacity;
  }

  std::size_t size() const { return used_; }
  std::size_t capacity() const { return capacity_; }
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i)
      if (!slots_[i].empty()) f(slots_[i]);
  }

 private:
  struct Free {
    std::size_t bytes;
    bool mapped;
    void operator()(Slot* p) const { open_table_memory::free_zeroed({p, mapped}, bytes); }
  };
  using Array = std::unique_ptr<Slot[], Free>;

  static Array allocate(std::size_t capacity) {
    if (capacity > (std::size_t{1} << 40) / sizeof(Slot)) throw std::length_error("hash table too large");
    std::size_t bytes = capacity * sizeof(Slot);
    const open_table_memory::Zeroed zeroed = open_table_memory::allocate_zeroed(bytes);
    return Array(static_cast<Slot*>(zeroed.memory), Free{bytes, zeroed.mapped});
  }

  template <typename HashOf>
  void grow(std::size_t capacity, HashOf&& hash_of) {
    Array old = std::move(slots_);
    const std::size_t old_capacity = capacity_;
    slots_ = allocate(capacity);
    capacity_ = capacity;
    const std::size_t mask = capacity - 1;
    constexpr std::size_t kAhead = 16;  // overlap the cache misses of the random writes
    Slot* slots = slots_.get();
    for (std::size_t n = 0; n < old_capacity; ++n) {
      if (n + kAhead < old_capacity && !old[n + kAhead].empty())
        __builtin_prefetch(&slots[hash_of(old[n + kAhead]) & mask], 1);
      if (old[n].empty()) continue;
      std::size_t i = hash_of(old[n]) & mask;
      while (!slots[i].empty()) i = (i + 1) & mask;
      slots[i] = old[n];
    }
  }

  Array slots_{nullptr, Free{0, false}};
  std::size_t capacity_ = 0, used_ = 0;
};

}  // namespace pyfold
