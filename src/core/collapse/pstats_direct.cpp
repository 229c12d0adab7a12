// A pstats dump of the usual shape → function table, straight from the marshal bytes (see the header). It gives
// exactly what the generic reader gives: functions numbered in the same order (the keys first, then the callers
// that are no key), numbers summed in the same order, the same steps after (pstats_reader's share_counted_times
// and finish_functions). Every read is bounds-checked; anything outside the shape stops it (the generic reader
// then takes over from the start).
#include "pyfold/collapse/pstats_direct.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "pyfold/open_table.hpp"
#include "pyfold/text.hpp"

namespace pyfold::collapse::pstats {

namespace {

constexpr unsigned char kFlagRef = 0x80;
constexpr std::uint32_t kNone = 0xffffffffu;

struct Unsupported {};  // thrown where the shape ends; caught by read_functions_direct

class DirectReader {
 public:
  explicit DirectReader(std::string_view bytes)
      : data_(reinterpret_cast<const unsigned char*>(bytes.data())), size_(bytes.size()) {
    // Sized for what a dump of this size holds (about 150 bytes a key): a table that grows is mapped and faulted in
    // at each of its sizes.
    keys_by_text_.reset(OpenTable<KeySlot>::capacity_for(size_ / 150 + 64));
  }

  void read(std::vector<Function>& functions) {
    if (size_ == 0 || size_ > std::numeric_limits<std::uint32_t>::max() - 1) throw Unsupported{};
    // Room for what a dump of this size holds (about 100 bytes an entry, 120 an object with a ref slot in cProfile's
    // dumps): a vector that doubles writes each of its sizes to fresh pages, and a page fault costs more than the
    // bytes in it.
    refs_.reserve(size_ / 96 + 16);
    by_key_.reserve(size_ / 100 + 16);
    keys_.reserve(size_ / 100 + 16);
    entries_.reserve(size_ / 100 + 16);
    open('{');
    while ((peek() & ~kFlagRef) != '0') {
      const std::uint32_t k = key();
      tuple_of(5);
      const double cc = number(), nc = number(), tt = number(), ct = number();
      Function& fn = by_key_[k];
      fn.cc += cc;
      fn.nc += nc;
      fn.tt += std::max(0.0, tt);  // the profile module's bias calibration can make times negative
      fn.ct += std::max(0.0, ct);
      const std::uint32_t begin = std::uint32_t(fn.callers.size());
      double counted_calls = 0;  // int callers: calls from other functions
      bool counted = false;
      open('{');
      edges_.clear();
      while ((peek() & ~kFlagRef) != '0') {
        Edge e;
        e.caller = key();  // a key id until build() numbers the functions
        caller_value(e);
        if (e.ct < 0) {
          counted = true;
          if (e.caller != k) counted_calls += e.nc;
        }
        edges_.push_back(e);
      }
      ++pos_;
      // One allocation of the right size (key() may have moved the functions: by_key_ again).
      std::vector<Edge>& callers = by_key_[k].callers;
      if (callers.empty()) callers.reserve(edges_.size());
      callers.insert(callers.end(), edges_.begin(), edges_.end());
      const std::uint32_t end = std::uint32_t(callers.size());
      entries_.push_back(EntryRange{k, begin, end});
      if (counted) counted_.push_back(Counted{k, begin, end, counted_calls});
    }
    build(functions);
  }

 private:
  // A string of the dump: where its text is, and the text's hash. Strings are not interned: a key is found by the
  // texts it holds (their hashes, then the bytes), so a new string costs no table lookup of its own.
  struct Text {
    std::uint32_t offset, length;
    std::uint64_t hash;
  };
  struct Ref {
    enum Kind : std::uint8_t { unfinished, other, string, number, key } kind;
    std::uint32_t id;  // key
    Text text;         // string
    double value;      // number
  };
  struct KeyText {
    Text file, name;
    std::int64_t line;
  };
  static std::uint64_t key_hash(const KeyText& k) {
    return mix64(k.file.hash ^ mix64(k.name.hash + std::uint64_t(k.line) * 0x9E3779B97F4A7C15ULL));
  }
  struct KeySlot {
    std::uint64_t hash;
    std::uint32_t id_plus_one;
    bool empty() const { return id_plus_one == 0; }
  };
  struct EntryRange {  // an entry of the dict: its key, and where its callers are in that function's list
    std::uint32_t key, begin, end;
  };
  struct Counted {  // an entry with int callers, shared out once its function's numbers are all read
    std::uint32_t key, begin, end;
    double counted_calls;
  };

  void need(std::size_t n) const {
    if (size_ - pos_ < n) throw Unsupported{};
  }
  unsigned char peek() const {
    need(1);
    return data_[pos_];
  }
  unsigned char u8() {
    need(1);
    return data_[pos_++];
  }
  std::int32_t i32() {
    need(4);
    std::uint32_t v = std::uint32_t(data_[pos_]) | std::uint32_t(data_[pos_ + 1]) << 8 |
                      std::uint32_t(data_[pos_ + 2]) << 16 | std::uint32_t(data_[pos_ + 3]) << 24;
    pos_ += 4;
    return static_cast<std::int32_t>(v);
  }
  double f64() {
    need(8);
    std::uint64_t bits = 0;
    for (int k = 7; k >= 0; --k) bits = bits << 8 | data_[pos_ + k];
    pos_ += 8;
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  const Ref& ref() {
    const std::int32_t index = i32();
    if (index < 0 || std::size_t(index) >= refs_.size()) throw Unsupported{};
    return refs_[std::size_t(index)];
  }

  // A dict (its items follow); a flagged one takes a ref slot no ref may use here.
  void open(char code) {
    const unsigned char byte = u8();
    if ((byte & ~kFlagRef) != code) throw Unsupported{};
    if (byte & kFlagRef) refs_.push_back(Ref{Ref::other, 0, {}, 0});
  }
  // A tuple of n items: returns the ref slot it took (kNone when not flagged).
  std::uint32_t tuple_of(std::uint32_t n) { return tuple_where(tuple_size(), n); }
  std::uint32_t tuple_where(std::pair<std::uint32_t, bool> size, std::uint32_t n) {
    if (size.first != n) throw Unsupported{};
    if (!size.second) return kNone;
    refs_.push_back(Ref{Ref::unfinished, 0, {}, 0});
    return std::uint32_t(refs_.size() - 1);
  }
  // A tuple's size and flag ('(' or ')'); anything else stops.
  std::pair<std::uint32_t, bool> tuple_size() {
    const unsigned char byte = u8();
    const unsigned char code = byte & ~kFlagRef;
    std::uint32_t n;
    if (code == ')') {
      n = u8();
    } else if (code == '(') {
      const std::int32_t v = i32();
      if (v < 0) throw Unsupported{};
      n = std::uint32_t(v);
    } else {
      throw Unsupported{};
    }
    if (n > size_ - pos_) throw Unsupported{};
    return {n, (byte & kFlagRef) != 0};
  }

  // An int, a float, a boolean, or a ref to an int or float; finite.
  double number() {
    const unsigned char byte = u8();
    double d;
    switch (byte & ~kFlagRef) {
      case 'i': d = double(i32()); break;
      case 'g':
        d = f64();
        if (!std::isfinite(d)) throw Unsupported{};
        break;
      case 'F': return 0;  // singletons take no ref slot
      case 'T': return 1;
      case 'r': {
        const Ref& r = ref();
        if (r.kind != Ref::number) throw Unsupported{};
        return r.value;
      }
      default: throw Unsupported{};
    }
    if (byte & kFlagRef) refs_.push_back(Ref{Ref::number, 0, {}, d});
    return d;
  }

  // A string (any kind but Python 2's string refs) or a ref to one.
  Text string() {
    const unsigned char byte = u8();
    std::uint32_t length;
    switch (byte & ~kFlagRef) {
      case 'z':
      case 'Z': length = u8(); break;
      case 'a':
      case 'A':
      case 'u':
      case 't':
      case 's': {
        const std::int32_t v = i32();
        if (v < 0) throw Unsupported{};
        length = std::uint32_t(v);
        break;
      }
      case 'r': {
        const Ref& r = ref();
        if (r.kind != Ref::string) throw Unsupported{};
        return r.text;
      }
      default: throw Unsupported{};
    }
    need(length);
    const Text text{std::uint32_t(pos_), length, hash_bytes(view(std::uint32_t(pos_), length))};
    pos_ += length;
    if (byte & kFlagRef) refs_.push_back(Ref{Ref::string, 0, text, 0});
    return text;
  }
  std::string_view view(std::uint32_t offset, std::uint32_t length) const {
    return std::string_view(reinterpret_cast<const char*>(data_) + offset, length);
  }
  std::string_view view(const Text& t) const { return view(t.offset, t.length); }
  // (The same string read twice, through refs, is the same bytes: most keys' names and files.)
  bool same_text(const Text& a, const Text& b) const {
    if (a.offset == b.offset) return a.length == b.length;
    return a.hash == b.hash && a.length == b.length && std::memcmp(data_ + a.offset, data_ + b.offset, a.length) == 0;
  }

  // A (file, line, name) tuple or a ref to one: its key id.
  std::uint32_t key() {
    if ((peek() & ~kFlagRef) == 'r') {
      ++pos_;
      const Ref& r = ref();
      if (r.kind != Ref::key) throw Unsupported{};
      return r.id;
    }
    const std::uint32_t slot = tuple_of(3);
    KeyText k;
    k.file = string();
    const double line = number();
    if (std::fabs(line) > 1e15) throw Unsupported{};
    k.line = std::llround(line);
    k.name = string();  // a code object (`python -m profile -o`) stops here
    const std::uint64_t hash = key_hash(k);
    auto same = [&](const KeySlot& s) {
      if (s.hash != hash) return false;
      const KeyText& other = keys_[s.id_plus_one - 1];
      return other.line == k.line && same_text(other.name, k.name) && same_text(other.file, k.file);
    };
    KeySlot* found = keys_by_text_.probe(hash, same);
    std::uint32_t id;
    if (found->empty()) {
      id = std::uint32_t(keys_.size());
      keys_.push_back(k);
      by_key_.emplace_back();
      by_key_.back().file = view(k.file);
      by_key_.back().name = view(k.name);
      by_key_.back().line = k.line;
      keys_by_text_.occupy(found, KeySlot{hash, id + 1}, [](const KeySlot& s) { return s.hash; });
    } else {
      id = found->id_plus_one - 1;
    }
    if (slot != kNone) refs_[slot] = Ref{Ref::key, id, {}, 0};
    return id;
  }

  // A caller's value: (nc, cc, tt, ct), 4k numbers summed, or an int call count (ct -1 until shared out).
  void caller_value(Edge& e) {
    e = Edge{e.caller, 0, 0, 0, 0};
    const unsigned char code = peek() & ~kFlagRef;
    if (code != ')' && code != '(') {
      e.nc = e.cc = std::max(0.0, number());
      e.ct = -1;
      return;
    }
    const auto size = tuple_size();
    if (size.first == 0 || size.first % 4 != 0) throw Unsupported{};
    const std::uint32_t slot = tuple_where(size, size.first);
    for (std::uint32_t k = 0; k < size.first; k += 4) {
      e.nc += number();
      e.cc += number();
      e.tt += std::max(0.0, number());
      e.ct += std::max(0.0, number());
    }
    if (slot != kNone) refs_[slot].kind = Ref::other;
  }

  // The functions as the generic reader numbers them: the dict's keys in order, then the callers no key names in
  // the order they are met (entries in order, each one's callers in order).
  void build(std::vector<Function>& functions) {
    for (const Counted& c : counted_)  // key ids on both sides still: the same comparisons
      share_counted_times(by_key_[c.key], c.key, c.counted_calls, c.begin, c.end);
    std::vector<std::uint32_t> function_of(keys_.size(), kNone);
    std::uint32_t next = 0;
    for (const EntryRange& e : entries_)
      if (function_of[e.key] == kNone) function_of[e.key] = next++;
    for (const EntryRange& e : entries_)
      for (std::uint32_t k = e.begin; k < e.end; ++k) {
        std::uint32_t& f = function_of[by_key_[e.key].callers[k].caller];
        if (f == kNone) f = next++;
      }
    for (Function& fn : by_key_)
      for (Edge& e : fn.callers) e.caller = function_of[e.caller];
    // Each function to its number, in place (a second table would be a megabyte more of fresh pages): every key is
    // an entry's or a caller's, so the numbers are a permutation, followed round each of its cycles.
    std::vector<char> placed(by_key_.size(), 0);
    for (std::uint32_t k = 0; k < by_key_.size(); ++k) {
      if (placed[k]) continue;
      Function carried = std::move(by_key_[k]);
      for (std::uint32_t at = function_of[k];; at = function_of[at]) {
        std::swap(carried, by_key_[at]);
        placed[at] = 1;
        if (at == k) break;
      }
    }
    functions.swap(by_key_);
  }

  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::vector<Ref> refs_;
  std::vector<KeyText> keys_;
  OpenTable<KeySlot> keys_by_text_;
  std::vector<Function> by_key_;  // numbered by key id
  std::vector<EntryRange> entries_;
  std::vector<Counted> counted_;
  std::vector<Edge> edges_;  // the callers of the entry being read
};

}  // namespace

bool read_functions_direct(std::string_view bytes, std::vector<Function>& functions) {
  try {
    DirectReader reader(bytes);
    reader.read(functions);
  } catch (const Unsupported&) {
    functions.clear();
    return false;
  }
  finish_functions(functions);
  return true;
}

}  // namespace pyfold::collapse::pstats
