#pragma once
// Interned strings: each distinct text gets a number, 0, 1, 2… in order of first appearance, and its bytes are
// kept once. The one frame text -> id table of pyfold (the stack tree's names, the collapsers' frames, speedscope's
// and pprof's frames and strings).
//
// Two texts are the same text when their lengths and 128-bit hashes are equal (hash128: the chance of two different
// texts colliding is about n^2 / 2^129, and its seed is random per process), so a lookup is one slot read: no byte
// comparison, no node to chase.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/open_table.hpp"
#include "pyfold/text.hpp"

namespace pyfold {

class StringTable {
 public:
  using Id = std::uint32_t;
  static constexpr Id kNone = 0xffffffffu;

  StringTable() : slots_(1024) {}

  Id intern(std::string_view text) { return intern(text, hash128(text)); }
  // The same with the text's hash128, computed by the caller (perhaps on another thread).
  Id intern(std::string_view text, const Hash128& hash) {
    Slot* slot = probe(text, hash);
    if (!slot->empty()) return slot->id_plus_one - 1;
    if (offset_.size() >= kNone - 1) throw std::length_error("too many distinct frame names");
    if (text.size() > 0xffffffffu) throw std::length_error("frame name longer than 4 GB");
    Id id = static_cast<Id>(offset_.size());
    offset_.push_back(arena_.size());
    length_.push_back(static_cast<std::uint32_t>(text.size()));
    arena_.append(text);
    slots_.occupy(slot, Slot{hash, id + 1, static_cast<std::uint32_t>(text.size())}, hash_of);
    return id;
  }
  // The id of text, or kNone.
  Id find(std::string_view text) const { return find(text, hash128(text)); }
  Id find(std::string_view text, const Hash128& hash) const {
    const Slot* slot = const_cast<StringTable*>(this)->probe(text, hash);
    return slot->empty() ? kNone : slot->id_plus_one - 1;
  }

  std::string_view text(Id id) const { return std::string_view(arena_.data() + offset_[id], length_[id]); }
  std::uint32_t length(Id id) const { return length_[id]; }
  // Where the text's bytes start (for comparing them in place).
  const char* data(Id id) const { return arena_.data() + offset_[id]; }
  std::size_t size() const { return offset_.size(); }

 private:
  struct Slot {
    Hash128 hash;
    std::uint32_t id_plus_one;  // 0: free
    std::uint32_t length;
    bool empty() const { return id_plus_one == 0; }
  };
  static std::uint64_t hash_of(const Slot& slot) { return slot.hash.low; }
  Slot* probe(std::string_view text, const Hash128& hash) {
    return slots_.probe(hash.low, [&](const Slot& s) { return s.hash == hash && s.length == text.size(); });
  }

  std::string arena_;
  std::vector<std::uint64_t> offset_;
  std::vector<std::uint32_t> length_;
  OpenTable<Slot> slots_;
};

}  // namespace pyfold
