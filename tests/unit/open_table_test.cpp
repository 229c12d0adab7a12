#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pyfold/heap_policy.hpp"
#include "pyfold/open_table.hpp"
#include "pyfold/string_table.hpp"

using pyfold::OpenTable;
using pyfold::StringTable;

namespace {
struct Pair {
  std::uint64_t key;  // 0: free
  std::uint32_t value;
  bool empty() const { return key == 0; }
};
std::uint64_t hash_of(const Pair& p) { return pyfold::mix64(p.key); }
}  // namespace

TEST_CASE("the open table finds what it holds, through growth, as a map would") {
  OpenTable<Pair> table(16);
  std::map<std::uint64_t, std::uint32_t> expected;
  std::mt19937_64 random(7);
  for (std::uint32_t i = 0; i < 200000; ++i) {
    std::uint64_t key = random() % 50000 + 1;  // many repeats
    Pair* slot = table.probe(pyfold::mix64(key), [&](const Pair& p) { return p.key == key; });
    if (slot->empty()) {
      table.occupy(slot, Pair{key, i}, hash_of);
      expected.emplace(key, i);
    } else {
      CHECK(slot->value == expected.at(key));
    }
  }
  CHECK(table.size() == expected.size());
  CHECK(table.size() * 10 <= table.capacity() * 7);
  for (const auto& [key, value] : expected) {
    std::uint64_t k = key;
    const Pair* found = table.find(pyfold::mix64(k), [&](const Pair& p) { return p.key == k; });
    REQUIRE(found != nullptr);
    CHECK(found->value == value);
  }
  std::uint64_t absent = 50001;
  CHECK(table.find(pyfold::mix64(absent), [&](const Pair& p) { return p.key == absent; }) == nullptr);
  std::size_t seen = 0;
  table.for_each([&](const Pair&) { ++seen; });
  CHECK(seen == expected.size());
}

TEST_CASE("an owner can rebuild the table from its own records") {
  OpenTable<Pair> table(16);
  std::size_t grow_to = 0;
  for (std::uint64_t key = 1; key <= 12 && grow_to == 0; ++key) {
    Pair* slot = table.probe(key, [&](const Pair& p) { return p.key == key; });
    grow_to = table.fill(slot, Pair{key, 0});
  }
  CHECK(grow_to == 64);  // past 70% of 16, quadrupled while small
  table.reset(grow_to);
  CHECK((table.size() == 0 && table.capacity() == 64));
  for (std::uint64_t key = 1; key <= 12; ++key) table.insert_new(key, Pair{key, static_cast<std::uint32_t>(key)});
  CHECK(table.size() == 12);
  std::uint64_t k = 12;
  CHECK(table.find(k, [&](const Pair& p) { return p.key == k; })->value == 12);
  CHECK(OpenTable<Pair>::capacity_for(11) == 16);
  CHECK(OpenTable<Pair>::capacity_for(12) == 32);
  // Large tables are mapped memory: they work the same.
  OpenTable<Pair> large(1 << 20);
  k = 3;
  large.insert_new(k, Pair{k, 9});
  CHECK(large.find(k, [&](const Pair& p) { return p.key == k; })->value == 9);
}

TEST_CASE("interned strings get numbers in order of first appearance") {
  StringTable table;
  CHECK(table.intern("") == 0);
  CHECK(table.intern("main (app.py:1)") == 1);
  CHECK(table.intern("work (app.py:2)") == 2);
  CHECK(table.intern("main (app.py:1)") == 1);
  CHECK(table.find("work (app.py:2)") == 2);
  CHECK(table.find("absent") == StringTable::kNone);
  CHECK(table.text(1) == "main (app.py:1)");
  CHECK(table.text(0).empty());
  CHECK(table.size() == 3);
  for (int i = 0; i < 100000; ++i) REQUIRE(table.intern("f" + std::to_string(i)) == static_cast<unsigned>(i + 3));
  for (int i = 0; i < 100000; i += 997) CHECK(table.text(i + 3) == "f" + std::to_string(i));
  CHECK(table.intern("work (app.py:2)") == 2);
  CHECK(table.length(2) == 15);
}

TEST_CASE("interned strings keep their bytes in place: across blocks, texts larger than a block, a move") {
  StringTable table;
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i) {
    const char letter = static_cast<char>('a' + i % 26);
    texts.push_back(std::string(static_cast<std::size_t>(i % 700), letter) + std::to_string(i));
  }
  texts.push_back(std::string(3 << 20, 'x'));  // over the largest block
  texts.push_back("after the large one");
  std::vector<const char*> where;
  for (const std::string& t : texts) where.push_back(table.data(table.intern(t)));
  StringTable moved = std::move(table);
  REQUIRE(moved.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    REQUIRE(moved.text(static_cast<StringTable::Id>(i)) == texts[i]);
    REQUIRE(moved.data(static_cast<StringTable::Id>(i)) == where[i]);
  }
  CHECK(moved.intern(texts.back()) == texts.size() - 1);
}

TEST_CASE("once the heap grows in large steps, tables under 16 MB come from it, zeroed; larger ones are mapped") {
  pyfold::grow_heap_in_large_steps();
  REQUIRE(pyfold::heap_in_large_steps());
  namespace memory = pyfold::open_table_memory;
  for (std::size_t bytes : {std::size_t{1} << 20, std::size_t{15} << 20, std::size_t{16} << 20}) {
    const memory::Zeroed zeroed = memory::allocate_zeroed(bytes);
    CHECK(zeroed.mapped == (bytes >= (std::size_t{16} << 20)));
    const auto* p = static_cast<const unsigned char*>(zeroed.memory);
    bool all_zero = true;
    for (std::size_t i = 0; i < bytes; i += 4093) all_zero = all_zero && p[i] == 0;
    CHECK((all_zero && p[bytes - 1] == 0));
    memory::free_zeroed(zeroed, bytes);
  }
  // Taken back and given again: still zeroed (calloc on reused heap memory clears it).
  const memory::Zeroed first = memory::allocate_zeroed(std::size_t{1} << 20);
  static_cast<unsigned char*>(first.memory)[12345] = 7;
  memory::free_zeroed(first, std::size_t{1} << 20);
  const memory::Zeroed again = memory::allocate_zeroed(std::size_t{1} << 20);
  CHECK(static_cast<const unsigned char*>(again.memory)[12345] == 0);
  memory::free_zeroed(again, std::size_t{1} << 20);
}
