#pragma once
// Interned strings: each distinct text gets a number, 0, 1, 2… in order of first appearance, and its bytes are
// kept once. The one text -> id table of pyfold (the stack tree's names, the collapsers' frames and merged stacks,
// speedscope's and pprof's frames and strings).
//
// Two texts are the same text when their lengths and 128-bit hashes are equal (hash128: the chance of two different
// texts colliding is about n^2 / 2^129, and its seed is random per process), so a lookup is one slot read: no byte
// comparison, no node to chase.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
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
    if (start_.size() >= kNone - 1) throw std::length_error("too many distinct texts (frame names or stacks)");
    if (text.size() > 0xffffffffu) throw std::length_error("a frame name or stack longer than 4 GB");
    Id id = static_cast<Id>(start_.size());
    start_.push_back(store(text));
    length_.push_back(static_cast<std::uint32_t>(text.size()));
    slots_.occupy(slot, Slot{hash, id + 1, static_cast<std::uint32_t>(text.size())}, hash_of);
    return id;
  }
  // The id of text, or kNone.
  Id find(std::string_view text) const { return find(text, hash128(text)); }
  Id find(std::string_view text, const Hash128& hash) const {
    const Slot* slot = const_cast<StringTable*>(this)->probe(text, hash);
    return slot->empty() ? kNone : slot->id_plus_one - 1;
  }

  // Valid while the table lives (a move keeps it valid: the bytes never move).
  std::string_view text(Id id) const { return std::string_view(start_[id], length_[id]); }
  std::uint32_t length(Id id) const { return length_[id]; }
  // Where the text's bytes start (for comparing them in place).
  const char* data(Id id) const { return start_[id]; }
  std::size_t size() const { return start_.size(); }

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

  // Copies text into the current block, or a new one when it does not fit. Blocks never move or grow: one growing
  // buffer would copy the bytes at every doubling and, while copying, hold them twice (the collapser keeps hundreds
  // of megabytes of stacks here).
  const char* store(std::string_view text) {
    if (text.size() > block_left_) {
      const std::size_t size = std::max(text.size(), next_block_);
      blocks_.push_back(std::unique_ptr<char[]>(new char[size]));  // not zeroed: pages are touched as texts fill them
      block_free_ = blocks_.back().get();
      block_left_ = size;
      next_block_ = std::min(next_block_ * 2, kLargestBlock);
    }
    char* at = block_free_;
    if (!text.empty()) std::memcpy(at, text.data(), text.size());
    block_free_ += text.size();
    block_left_ -= text.size();
    return at;
  }
  static constexpr std::size_t kLargestBlock = std::size_t{1} << 20;  // a block's unused end is under one text

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* block_free_ = nullptr;
  std::size_t block_left_ = 0, next_block_ = 4096;
  std::vector<const char*> start_;
  std::vector<std::uint32_t> length_;
  OpenTable<Slot> slots_;
};

}  // namespace pyfold
