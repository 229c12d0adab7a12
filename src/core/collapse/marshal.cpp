#include "pyfold/collapse/marshal.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "pyfold/diagnostics.hpp"

namespace pyfold::collapse::marshal {

const char* const kCodeLayoutNames[4] = {"3.11-3.13", "3.8-3.10", "3.6-3.7", "2.7"};

namespace {

constexpr ValueId kUnset = std::numeric_limits<ValueId>::max();
constexpr unsigned char kFlagRef = 0x80;
constexpr int kMaxCodeDepth = 64;  // CPython's compiler nests far less; a hostile file cannot recurse deeper

// Code object layouts (Python/marshal.c w_complex_object, per version): `ints` i32 fields, 8 objects, i32
// co_firstlineno, `tail` objects. `kinds` gives the expected type of each of the 8 objects (s: str, b: bytes,
// t: tuple) so that a wrong layout is rejected inside the code object rather than misreading the rest of the file.
struct CodeLayout {
  int ints;
  const char* kinds;  // 8 characters
  int name_at, file_at;
  int tail;
};
constexpr CodeLayout kLayouts[4] = {
    {5, "btttbsss", 6, 5, 2},  // 3.11-3.13: code consts names localsplusnames localspluskinds filename name qualname
    {6, "btttttss", 7, 6, 1},  // 3.8-3.10: code consts names varnames freevars cellvars filename name; lnotab
    {5, "btttttss", 7, 6, 1},  // 3.6-3.7: same objects, one int fewer (no posonlyargcount)
    {4, "btttttss", 7, 6, 1},  // 2.7
};

}  // namespace

void Document::fail(std::size_t offset, const std::string& what) const {
  throw InputError(source_ + ": offset " + std::to_string(offset) + ": " + what);
}

class Parser {
 public:
  explicit Parser(Document& doc)
      : doc_(doc), data_(reinterpret_cast<const unsigned char*>(doc.bytes_.data())), size_(doc.bytes_.size()) {}

  void run() {
    if (size_ > std::numeric_limits<std::uint32_t>::max() - 1) doc_.fail(0, "file too large (4 GiB or more)");
    if (size_ == 0) doc_.fail(0, "empty input");
    doc_.root_ = parse_one();
    doc_.end_ = pos_;
    doc_.refs_ = refs_.size();
  }

 private:
  enum class FrameKind : std::uint8_t { sequence, dict };
  struct Frame {
    ValueId node;
    std::uint32_t pending_start;
    std::uint32_t remaining;  // sequence: items still to read
    FrameKind kind;
  };

  [[noreturn]] void fail(std::size_t offset, const std::string& what) { doc_.fail(offset, what); }

  void need(std::size_t n, std::size_t at, const char* what) {
    if (size_ - pos_ < n)
      fail(at, std::string("truncated ") + what + " (needs " + std::to_string(n) + " bytes, " +
                   std::to_string(size_ - pos_) + " left)");
  }
  std::uint8_t u8(std::size_t at, const char* what) {
    need(1, at, what);
    return data_[pos_++];
  }
  std::int32_t i32(std::size_t at, const char* what) {
    need(4, at, what);
    std::uint32_t v = std::uint32_t(data_[pos_]) | std::uint32_t(data_[pos_ + 1]) << 8 |
                      std::uint32_t(data_[pos_ + 2]) << 16 | std::uint32_t(data_[pos_ + 3]) << 24;
    pos_ += 4;
    return static_cast<std::int32_t>(v);
  }
  std::uint64_t u64(std::size_t at, const char* what) {
    need(8, at, what);
    std::uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = v << 8 | data_[pos_ + k];
    pos_ += 8;
    return v;
  }
  double f64(std::size_t at, const char* what) {
    std::uint64_t bits = u64(at, what);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  // A length or count that must fit in what is left of the file (each item takes at least min_bytes bytes).
  std::uint32_t count(std::size_t at, const char* what, std::size_t min_bytes) {
    std::int32_t n = i32(at, what);
    if (n < 0) fail(at, std::string("negative ") + what + " " + std::to_string(n));
    if (std::size_t(n) > (size_ - pos_) / min_bytes)
      fail(at, std::string(what) + " " + std::to_string(n) + " is more than the " + std::to_string(size_ - pos_) +
                   " bytes left");
    return std::uint32_t(n);
  }

  ValueId add(Type type, std::size_t offset) {
    Value v{};
    v.type = type;
    v.complete = true;
    v.offset = std::uint32_t(offset);
    doc_.values_.push_back(v);
    return ValueId(doc_.values_.size() - 1);
  }
  Value& at(ValueId id) { return doc_.values_[id]; }

  ValueId add_number(Type type, std::size_t offset, std::int64_t i, double d) {
    ValueId id = add(type, offset);
    at(id).integer = i;
    at(id).number = d;
    return id;
  }
  ValueId add_text(Type type, std::size_t offset, std::uint32_t len) {
    ValueId id = add(type, offset);
    at(id).index = std::uint32_t(pos_);
    at(id).size = len;
    pos_ += len;
    return id;
  }

  // Parses one complete object at pos_. Containers are read with an explicit stack; only code objects recurse
  // (bounded by kMaxCodeDepth).
  ValueId parse_one() {
    const std::size_t base = frames_.size();
    for (;;) {
      const std::size_t offset = pos_;
      const std::uint8_t byte = u8(offset, "object (type code)");
      const bool flag = byte & kFlagRef;
      const char code = char(byte & ~kFlagRef);
      ValueId id = kUnset;
      bool opened = false;  // a container frame was pushed: read its items next
      switch (code) {
        case '0': {  // NULL: ends a dict, valid only where a key is expected
          if (frames_.size() == base || frames_.back().kind != FrameKind::dict)
            fail(offset, "NULL (type code '0') outside a dict");
          Frame& f = frames_.back();
          if ((pending_.size() - f.pending_start) % 2 != 0) fail(offset, "dict ends after a key without a value");
          id = finish(f);
          frames_.pop_back();
          break;
        }
        case 'N': id = add(Type::none, offset); break;
        case 'F': id = add_number(Type::boolean, offset, 0, 0); break;
        case 'T': id = add_number(Type::boolean, offset, 1, 1); break;
        case '.': id = add(Type::ellipsis, offset); break;
        case 'S': id = add(Type::stop_iteration, offset); break;
        case 'i': {
          std::int32_t v = i32(offset, "int");
          id = add_number(Type::integer, offset, v, double(v));
          break;
        }
        case 'I': {  // Python 2: 64-bit int
          auto s = static_cast<std::int64_t>(u64(offset, "int64"));
          id = add_number(Type::integer, offset, s, double(s));
          break;
        }
        case 'l': id = read_long(offset); break;
        case 'g': id = add_number(Type::floating, offset, 0, f64(offset, "binary float")); break;
        case 'f': {
          double d = read_text_float(offset);
          id = add_number(Type::floating, offset, 0, d);
          break;
        }
        case 'y': {  // binary complex: the real part stands for the number
          need(16, offset, "binary complex");
          double re = f64(offset, "binary complex");
          pos_ += 8;  // the imaginary part
          id = add_number(Type::complex, offset, 0, re);
          break;
        }
        case 'x': {
          double re = read_text_float(offset);
          read_text_float(offset);
          id = add_number(Type::complex, offset, 0, re);
          break;
        }
        case 'z':
        case 'Z': {
          std::uint32_t len = u8(offset, "short string length");
          need(len, offset, "short string");
          id = add_text(Type::string, offset, len);
          break;
        }
        case 'a':
        case 'A':
        case 'u': {
          std::uint32_t len = count(offset, "string length", 1);
          id = add_text(Type::string, offset, len);
          break;
        }
        case 't': {  // interned: Python 3 str; Python 2 byte string that 'R' can refer to later
          std::uint32_t len = count(offset, "string length", 1);
          id = add_text(Type::string, offset, len);
          strrefs_.push_back(id);
          break;
        }
        case 's': {
          std::uint32_t len = count(offset, "bytes length", 1);
          id = add_text(Type::bytes, offset, len);
          break;
        }
        case 'R': {  // Python 2 string ref: index into the interned strings read so far
          std::int32_t index = i32(offset, "string ref");
          if (index < 0 || std::size_t(index) >= strrefs_.size())
            fail(offset, "string ref " + std::to_string(index) + " out of range (" + std::to_string(strrefs_.size()) +
                             " interned strings so far)");
          id = strrefs_[std::size_t(index)];
          break;
        }
        case 'r': {
          std::int32_t index = i32(offset, "ref");
          if (index < 0 || std::size_t(index) >= refs_.size())
            fail(offset, "ref " + std::to_string(index) + " out of range (" + std::to_string(refs_.size()) +
                             " objects so far)");
          id = refs_[std::size_t(index)];
          if (id == kUnset || !at(id).complete) fail(offset, "ref " + std::to_string(index) + " to an unfinished object");
          break;
        }
        case ')':
        case '(':
        case '[':
        case '<':
        case '>':
        case ':': {
          std::uint32_t n;
          Type type = code == '[' ? Type::list : code == ':' ? Type::slice : (code == '<' || code == '>') ? Type::set
                                                                                                         : Type::tuple;
          if (code == ')') {
            n = u8(offset, "tuple size");
            if (n > size_ - pos_) fail(offset, "tuple of " + std::to_string(n) + " items is longer than the file");
          } else if (code == ':') {
            n = 3;
          } else {
            n = count(offset, "container size", 1);
          }
          id = add(type, offset);
          if (flag) refs_.push_back(id);  // a container takes its ref slot before its items (pre-order)
          if (n > 0) {
            at(id).complete = false;
            frames_.push_back(Frame{id, std::uint32_t(pending_.size()), n, FrameKind::sequence});
            opened = true;
          } else {
            at(id).index = std::uint32_t(doc_.items_.size());
          }
          break;
        }
        case '{': {
          id = add(Type::dict, offset);
          if (flag) refs_.push_back(id);
          at(id).complete = false;
          frames_.push_back(Frame{id, std::uint32_t(pending_.size()), 0, FrameKind::dict});
          opened = true;
          break;
        }
        case 'c': {
          std::size_t slot = refs_.size();
          if (flag) refs_.push_back(kUnset);  // reserved before the fields, filled when the code object is done
          id = parse_code(offset);
          if (flag) refs_[slot] = id;
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", unsigned(byte));
          fail(offset, std::string("unknown marshal type code ") + hex);
        }
      }
      if (opened) continue;
      // Flagged numbers and strings take a ref slot once read. As in CPython's r_object, the singletons
      // (N T F . S), NULL and the refs themselves never take one, and containers took theirs above.
      if (flag && code != 0 && std::strchr("iIlgfyxzZaAuts", code) != nullptr) refs_.push_back(id);
      // Deliver the finished object to its container; finishing a container may finish the ones around it.
      for (;;) {
        if (frames_.size() == base) return id;
        Frame& f = frames_.back();
        pending_.push_back(id);
        if (f.kind == FrameKind::dict) break;
        if (--f.remaining > 0) break;
        id = finish(f);
        frames_.pop_back();
      }
    }
  }

  ValueId finish(const Frame& f) {
    Value& v = at(f.node);
    v.index = std::uint32_t(doc_.items_.size());
    std::size_t n = pending_.size() - f.pending_start;
    v.size = std::uint32_t(f.kind == FrameKind::dict ? n / 2 : n);
    doc_.items_.insert(doc_.items_.end(), pending_.begin() + f.pending_start, pending_.end());
    pending_.resize(f.pending_start);
    v.complete = true;
    return f.node;
  }

  ValueId read_long(std::size_t offset) {
    std::int32_t n = i32(offset, "long digit count");
    if (n == std::numeric_limits<std::int32_t>::min()) fail(offset, "bad long digit count");
    std::uint32_t digits = std::uint32_t(n < 0 ? -n : n);
    if (digits > (size_ - pos_) / 2)
      fail(offset, "long of " + std::to_string(digits) + " digits is longer than the " + std::to_string(size_ - pos_) +
                       " bytes left");
    double d = 0, scale = 1;
    std::uint64_t value = 0;
    for (std::uint32_t k = 0; k < digits; ++k) {
      std::uint32_t digit = std::uint32_t(data_[pos_]) | std::uint32_t(data_[pos_ + 1]) << 8;
      pos_ += 2;
      if (digit >= 1u << 15) fail(offset, "bad long digit " + std::to_string(digit));
      if (digit == 0 && k + 1 == digits) fail(offset, "long with a leading zero digit");
      if (digit != 0) d += digit * scale;  // not 0 * inf (NaN) once scale overflows: d goes to inf, clamped below
      scale *= 32768.0;
      if (k < 4) value |= std::uint64_t(digit) << (15 * k);  // up to 60 bits exactly
    }
    // Beyond 60 bits the double (exact to 53 bits) stands in, clamped to the int64 range.
    std::int64_t i = digits <= 4 ? std::int64_t(value)
                     : d >= 9.2e18 ? std::numeric_limits<std::int64_t>::max()
                                   : std::int64_t(d);
    if (n < 0) {
      i = -i;
      d = -d;
    }
    return add_number(Type::integer, offset, i, d);
  }

  double read_text_float(std::size_t offset) {
    std::uint32_t len = u8(offset, "float length");
    need(len, offset, "float text");
    std::string text(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) fail(offset, "bad float text '" + text + "'");
    return d;
  }

  // A code object. The file does not say which Python wrote it, so the outermost code object tries each layout in
  // turn (undoing everything a failed try read); code objects inside it use the layout that is being tried.
  ValueId parse_code(std::size_t offset) {
    if (code_depth_ >= kMaxCodeDepth) fail(offset, "code objects nested too deeply");
    if (code_depth_ > 0) return parse_code_as(offset, forced_layout_);
    const std::size_t start = pos_, values = doc_.values_.size(), items = doc_.items_.size(),
                      codes = doc_.codes_.size(), refs = refs_.size(), strrefs = strrefs_.size(),
                      pending = pending_.size(), frames = frames_.size();
    std::string first_error;
    for (int k = 0; k < 4; ++k) {
      int layout = (preferred_layout_ + k) % 4;
      try {
        ValueId id = parse_code_as(offset, layout);
        preferred_layout_ = layout;
        return id;
      } catch (const InputError& e) {
        if (first_error.empty()) first_error = e.what();
        pos_ = start;
        doc_.values_.resize(values);
        doc_.items_.resize(items);
        doc_.codes_.resize(codes);
        refs_.resize(refs);
        strrefs_.resize(strrefs);
        pending_.resize(pending);
        frames_.resize(frames);
        code_depth_ = 0;
      }
    }
    // Report the reason from the layout most files use; say that no layout fits.
    std::string reason = first_error.substr(first_error.find(": offset ") == std::string::npos
                                                ? 0
                                                : first_error.find(": offset ") + 2);
    fail(offset, "code object fits no known layout (2.7, 3.6-3.7, 3.8-3.10, 3.11-3.13); with " +
                     std::string(kCodeLayoutNames[preferred_layout_]) + ": " + reason);
  }

  ValueId parse_code_as(std::size_t offset, int layout_index) {
    const CodeLayout& layout = kLayouts[layout_index];
    ++code_depth_;
    int saved_forced = forced_layout_;
    forced_layout_ = layout_index;
    for (int k = 0; k < layout.ints; ++k) i32(offset, "code object field");
    ValueId fields[8];
    for (int k = 0; k < 8; ++k) {
      std::size_t field_at = pos_;
      fields[k] = parse_one();
      check_kind(fields[k], layout.kinds[k], field_at);
    }
    std::int32_t first_line = i32(offset, "code object co_firstlineno");
    for (int k = 0; k < layout.tail; ++k) {
      std::size_t field_at = pos_;
      check_kind(parse_one(), 'b', field_at);
    }
    forced_layout_ = saved_forced;
    --code_depth_;
    ValueId id = add(Type::code, offset);
    at(id).index = std::uint32_t(doc_.codes_.size());
    doc_.codes_.push_back(Code{fields[layout.name_at], fields[layout.file_at], first_line, layout_index});
    return id;
  }

  void check_kind(ValueId id, char kind, std::size_t offset) {
    Type t = at(id).type;
    bool ok = kind == 't' ? t == Type::tuple : kind == 'b' ? t == Type::bytes : (t == Type::string || t == Type::bytes);
    if (!ok) fail(offset, kind == 't' ? "code object field is not a tuple" : kind == 'b'
                                                                                ? "code object field is not bytes"
                                                                                : "code object field is not a string");
  }

  Document& doc_;
  const unsigned char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::vector<Frame> frames_;
  std::vector<ValueId> pending_;
  std::vector<ValueId> refs_;
  std::vector<ValueId> strrefs_;
  int code_depth_ = 0;
  int forced_layout_ = 0;
  int preferred_layout_ = 0;
};

Document::Document(std::string bytes, std::string source) : bytes_(std::move(bytes)), source_(std::move(source)) {
  values_.reserve(bytes_.size() / 6 + 16);  // about one object per 6 bytes in real dumps; grows if needed
  Parser(*this).run();
}

}  // namespace pyfold::collapse::marshal
