// Short reprs of objects read from outside, and a frame's arguments and locals (dump --locals).
#include "pyfold/record/cpython/object_repr.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace pyfold::record {

namespace {
constexpr const char* kUnreadable = "<unreadable>";
constexpr std::uint64_t kMaxIntWords = 4096;     // 30-bit digits of an int converted (about 37000 decimal digits)
constexpr std::uint64_t kMaxNames = 4096;        // local slots of a frame
constexpr std::uint64_t kMaxContainer = 1 << 24; // items a container may claim before it is taken for garbage
// co_flags and the kinds of 3.11+ local slots (Include/cpython/code.h, Include/internal/pycore_code.h).
constexpr std::uint32_t kVarargs = 0x4, kVarkeywords = 0x8;
constexpr unsigned char kFastHidden = 0x10, kFastCell = 0x40, kFastFree = 0x80;

std::string hex_address(std::uint64_t address) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

// Python's repr of a float: the shortest digits that read back the same, positional when the exponent is in
// [-4, 16), else d.ddde+XX.
std::string float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
  std::string text(buffer, end);
  std::string sign;
  if (text[0] == '-') sign = "-", text.erase(0, 1);
  std::size_t e = text.find('e');
  int exponent = std::stoi(text.substr(e + 1));
  std::string digits = text.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  std::string out;
  if (exponent < 0) {
    out = "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  } else if (static_cast<std::size_t>(exponent) + 1 >= digits.size()) {
    out = digits + std::string(static_cast<std::size_t>(exponent) + 1 - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<std::size_t>(exponent) + 1) + "." +
          digits.substr(static_cast<std::size_t>(exponent) + 1);
  }
  return sign + out;
}

// Python's quoting of str and bytes contents (UTF-8 bytes of a str kept as they are).
void append_quoted(std::string& out, const std::string& text, bool bytes) {
  const bool has_single = text.find('\'') != std::string::npos, has_double = text.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  for (unsigned char c : text) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}
}  // namespace

std::string ObjectRepr::repr(std::uint64_t object) {
  std::string out;
  path_.clear();
  append(out, object, 0);
  return out;
}

void ObjectRepr::append(std::string& out, std::uint64_t object, int depth) {
  const auto& types = rt_.objects;
  if (object == 0 || (object & 7)) {
    out += kUnreadable;
    return;
  }
  if (object == types.none) {
    out += "None";
    return;
  }
  std::uint64_t type = 0;
  if (!memory_.read_value(object + rt_.layout.object_type, type) || type == 0) {
    out += kUnreadable;
    return;
  }
  const std::size_t mark = out.size();
  bool ok;
  if (type == rt_.long_type || type == types.bool_type) {
    ok = append_int(out, object, type == types.bool_type);
  } else if (type == types.float_type) {
    ok = append_float(out, object);
  } else if (type == rt_.unicode_type) {
    ok = append_str(out, object);
  } else if (type == rt_.bytes_type) {
    ok = append_bytes(out, object);
  } else if (type == types.list_type || type == types.tuple_type || type == types.dict_type ||
             type == types.set_type || type == types.frozenset_type) {
    const bool tuple = type == types.tuple_type;
    const char* open = tuple ? "(" : type == types.list_type ? "[" : "{";
    if (std::find(path_.begin(), path_.end(), object) != path_.end()) {  // a container inside itself
      out += type == types.list_type ? "[...]" : type == types.dict_type ? "{...}" : tuple ? "(...)" : "{...}";
      return;
    }
    if (depth >= kMaxDepth) {
      out += type == types.frozenset_type ? "frozenset({" : open;
      out += "…";
      out += tuple ? ")" : type == types.list_type ? "]" : type == types.frozenset_type ? "})" : "}";
      return;
    }
    path_.push_back(object);
    if (type == types.dict_type)
      ok = append_dict(out, object, depth);
    else if (type == types.set_type || type == types.frozenset_type)
      ok = append_set(out, object, type == types.frozenset_type, depth);
    else
      ok = append_sequence(out, object, tuple, depth);
    path_.pop_back();
  } else {
    append_other(out, object, type);
    return;
  }
  if (!ok) {
    out.resize(mark);
    out += kUnreadable;
  }
}

bool ObjectRepr::append_int(std::string& out, std::uint64_t object, bool as_bool) {
  const GeneratedLayout& o = rt_.layout.offsets;
  std::int64_t size = 0;
  if (!memory_.read_value(object + o.long_size, size)) return false;
  bool negative;
  std::uint64_t count;
  if (o.minor >= 12) {  // lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative)
    if ((size & 3) == 3) return false;
    negative = (size & 3) == 2;
    count = static_cast<std::uint64_t>(size) >> 3;
  } else {
    negative = size < 0;
    count = static_cast<std::uint64_t>(negative ? -size : size);
  }
  if (count > kMaxIntWords) {
    out += "<int of " + std::to_string(count * 30) + " bits at " + hex_address(object) + ">";
    return true;
  }
  std::vector<std::uint32_t> digits(count);
  if (count && !memory_.read(object + o.long_digits, digits.data(), count * 4)) return false;
  for (std::uint32_t d : digits)
    if (d >> 30) return false;
  if (as_bool) {
    out += count ? "True" : "False";
    return true;
  }
  // Base 2**30 to base 10**9 by repeated division, most significant digit last.
  std::vector<std::uint32_t> chunks;
  while (!digits.empty()) {
    std::uint64_t remainder = 0;
    for (std::size_t i = digits.size(); i-- > 0;) {
      std::uint64_t value = (remainder << 30) | digits[i];
      digits[i] = static_cast<std::uint32_t>(value / 1000000000);
      remainder = value % 1000000000;
    }
    chunks.push_back(static_cast<std::uint32_t>(remainder));
    while (!digits.empty() && digits.back() == 0) digits.pop_back();
  }
  std::string text = chunks.empty() ? "0" : std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - (chunks.empty() ? 0 : 1); i-- > 0;) {
    char part[16];
    std::snprintf(part, sizeof part, "%09u", chunks[i]);
    text += part;
  }
  if (negative) out += '-';
  if (text.size() > kMaxIntDigits) {
    out += text.substr(0, kMaxIntDigits) + "… (" + std::to_string(text.size()) + " digits)";
  } else {
    out += text;
  }
  return true;
}

bool ObjectRepr::append_float(std::string& out, std::uint64_t object) {
  double value;
  if (!memory_.read_value(object + rt_.layout.offsets.float_value, value)) return false;
  out += float_repr(value);
  return true;
}

bool ObjectRepr::append_str(std::string& out, std::uint64_t object) {
  std::string text;
  std::uint64_t length = 0;
  if (!objects_.read_string_prefix(object, kMaxChars, text, length)) return false;
  append_quoted(out, text, false);
  if (length > kMaxChars) out += "… (" + std::to_string(length) + " chars)";
  return true;
}

bool ObjectRepr::append_bytes(std::string& out, std::uint64_t object) {
  const GeneratedLayout& o = rt_.layout.offsets;
  std::int64_t size = 0;
  if (!memory_.read_value(object + o.bytes_size, size) || size < 0) return false;
  std::string text(std::min<std::uint64_t>(static_cast<std::uint64_t>(size), kMaxChars), '\0');
  if (!text.empty() && !memory_.read(object + o.bytes_sval, text.data(), text.size())) return false;
  out += 'b';
  append_quoted(out, text, true);
  if (static_cast<std::uint64_t>(size) > kMaxChars) out += "… (" + std::to_string(size) + " bytes)";
  return true;
}

bool ObjectRepr::append_sequence(std::string& out, std::uint64_t object, bool tuple, int depth) {
  const GeneratedLayout& o = rt_.layout.offsets;
  std::int64_t size = 0;
  if (!memory_.read_value(object + o.var_size, size) || size < 0 || static_cast<std::uint64_t>(size) > kMaxContainer)
    return false;
  const std::uint64_t shown = std::min<std::uint64_t>(static_cast<std::uint64_t>(size), kMaxItems);
  std::vector<std::uint64_t> items(shown);
  std::uint64_t array = object + o.tuple_items;
  if (!tuple && !memory_.read_value(object + o.list_items, array)) return false;
  if (shown && !memory_.read(array, items.data(), shown * 8)) return false;
  out += tuple ? "(" : "[";
  for (std::uint64_t i = 0; i < shown; ++i) {
    if (i) out += ", ";
    append(out, items[i], depth + 1);
  }
  if (static_cast<std::uint64_t>(size) > shown) out += ", … (" + std::to_string(size) + " items)";
  if (tuple && size == 1) out += ",";
  out += tuple ? ")" : "]";
  return true;
}

bool ObjectRepr::append_dict(std::string& out, std::uint64_t object, int depth) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  if (!objects_.dict_items(object, items)) return false;
  std::size_t count = 0;
  for (const auto& item : items) count += item.second != 0;
  out += "{";
  std::size_t shown = 0;
  for (const auto& [key, value] : items) {
    if (!value) continue;  // a deleted entry
    if (shown == kMaxItems) {
      out += ", … (" + std::to_string(count) + " items)";
      break;
    }
    if (shown++) out += ", ";
    append(out, key, depth + 1);
    out += ": ";
    append(out, value, depth + 1);
  }
  out += "}";
  return true;
}

bool ObjectRepr::append_set(std::string& out, std::uint64_t object, bool frozen, int depth) {
  const GeneratedLayout& o = rt_.layout.offsets;
  std::int64_t used = 0, mask = 0;
  std::uint64_t table = 0, dummy = 0;
  if (!memory_.read_value(object + o.set_used, used) || !memory_.read_value(object + o.set_mask, mask) ||
      !memory_.read_value(object + o.set_table, table) || used < 0 || mask < 0 || mask >= (1 << 20) ||
      used > mask + 1)
    return false;
  if (rt_.objects.set_dummy) memory_.read_value(rt_.objects.set_dummy, dummy);
  if (used == 0) {
    out += frozen ? "frozenset()" : "set()";
    return true;
  }
  std::vector<std::uint64_t> entries(static_cast<std::size_t>(mask + 1) * 2);  // {key, hash}
  if (!memory_.read(table, entries.data(), entries.size() * 8)) return false;
  out += frozen ? "frozenset({" : "{";
  std::uint64_t shown = 0;
  for (std::size_t i = 0; i < entries.size(); i += 2) {
    std::uint64_t key = entries[i];
    if (!key || key == dummy) continue;
    if (shown == kMaxItems) {
      out += ", … (" + std::to_string(used) + " items)";
      break;
    }
    if (shown++) out += ", ";
    append(out, key, depth + 1);
  }
  out += frozen ? "})" : "}";
  return true;
}

void ObjectRepr::append_other(std::string& out, std::uint64_t object, std::uint64_t type) {
  std::uint64_t name_at = 0;
  std::string name;
  if (memory_.read_value(type + rt_.layout.offsets.type_name, name_at) && name_at) {
    // tp_name is a C string of unknown length: read it up to the end of its page, in steps.
    char chunk[64];
    for (std::uint64_t at = name_at; name.size() < 200;) {
      std::uint64_t step = std::min<std::uint64_t>(sizeof chunk, 4096 - (at & 4095));
      if (!memory_.read(at, chunk, step)) break;
      const char* end = static_cast<const char*>(std::memchr(chunk, 0, step));
      name.append(chunk, end ? static_cast<std::size_t>(end - chunk) : step);
      if (end) break;
      at += step;
    }
  }
  bool printable = !name.empty();
  for (unsigned char c : name) printable = printable && c >= 0x20 && c < 0x7f;
  out += "<" + (printable ? name : std::string("object")) + " at " + hex_address(object) + ">";
}

bool ObjectRepr::read_tuple(std::uint64_t tuple, std::vector<std::uint64_t>& items, std::uint64_t max_items) {
  const GeneratedLayout& o = rt_.layout.offsets;
  std::uint64_t type = 0;
  std::int64_t size = 0;
  if (!memory_.read_value(tuple + rt_.layout.object_type, type) || type != rt_.objects.tuple_type ||
      !memory_.read_value(tuple + o.var_size, size) || size < 0 || static_cast<std::uint64_t>(size) > max_items)
    return false;
  items.resize(static_cast<std::size_t>(size));
  return size == 0 || memory_.read(tuple + o.tuple_items, items.data(), items.size() * 8);
}

bool ObjectRepr::read_names(std::uint64_t tuple, std::vector<std::string>& names) {
  std::vector<std::uint64_t> items;
  if (!read_tuple(tuple, items, kMaxNames)) return false;
  names.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!objects_.read_string(items[i], names[i])) return false;
  return true;
}

std::uint64_t ObjectRepr::cell_contents(std::uint64_t object) {
  std::uint64_t type = 0, value = 0;
  if (!rt_.objects.cell_type || !memory_.read_value(object + rt_.layout.object_type, type) ||
      type != rt_.objects.cell_type)
    return object;  // not (yet) a cell: 3.11+ makes an argument's cell as the function starts
  return memory_.read_value(object + rt_.layout.offsets.cell_ref, value) ? value : 0;
}

std::vector<LocalVariable> ObjectRepr::frame_locals(std::uint64_t frame, std::string& problem) {
  const GeneratedLayout& o = rt_.layout.offsets;
  const Layout& layout = rt_.layout;
  std::vector<LocalVariable> out;
  std::uint64_t code = 0, type = 0;
  if (!memory_.read_value(frame + o.frame_code, code) || !(code &= layout.code_pointer_mask) ||
      !memory_.read_value(code + layout.object_type, type) || type != rt_.code_type) {
    problem = "the frame's code object is unreadable";
    return out;
  }
  std::int32_t argcount = 0, kwonly = 0;
  std::uint32_t flags = 0;
  if (!memory_.read_value(code + o.code_argcount, argcount) || !memory_.read_value(code + o.code_kwonlyargcount, kwonly) ||
      !memory_.read_value(code + o.code_flags, flags) || argcount < 0 || kwonly < 0) {
    problem = "the code object's argument counts are unreadable";
    return out;
  }
  const std::uint64_t arguments = static_cast<std::uint64_t>(argcount) + static_cast<std::uint64_t>(kwonly) +
                                  ((flags & kVarargs) ? 1 : 0) + ((flags & kVarkeywords) ? 1 : 0);
  std::vector<std::string> names;
  std::vector<unsigned char> kinds;
  std::size_t cells_from = 0;  // <= 3.10: where co_cellvars' and co_freevars' slots (cells) begin
  if (layout.interpreter_frames) {
    std::uint64_t names_at = 0, kinds_at = 0;
    std::string kind_bytes;
    if (!memory_.read_value(code + o.code_localsplusnames, names_at) || !read_names(names_at, names) ||
        !memory_.read_value(code + o.code_localspluskinds, kinds_at) || !objects_.read_bytes(kinds_at, kind_bytes) ||
        kind_bytes.size() != names.size()) {
      problem = "the code object's local names are unreadable";
      return out;
    }
    kinds.assign(kind_bytes.begin(), kind_bytes.end());
  } else {
    std::uint64_t at[3] = {0, 0, 0};
    std::vector<std::string> part;
    const int offsets[3] = {o.code_varnames, o.code_cellvars, o.code_freevars};
    for (int i = 0; i < 3; ++i) {
      if (!memory_.read_value(code + offsets[i], at[i]) || !read_names(at[i], part) ||
          names.size() + part.size() > kMaxNames) {
        problem = "the code object's local names are unreadable";
        return out;
      }
      if (i == 1) cells_from = names.size();
      names.insert(names.end(), part.begin(), part.end());
      kinds.insert(kinds.end(), part.size(), i == 0 ? 0 : i == 1 ? kFastCell : kFastFree);
    }
  }
  std::vector<std::uint64_t> slots(names.size());
  if (!slots.empty() && !memory_.read(frame + o.frame_localsplus, slots.data(), slots.size() * 8)) {
    problem = "the frame's local variables are unreadable";
    return out;
  }
  std::vector<std::uint64_t> values(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::uint64_t value = slots[i] & layout.code_pointer_mask;  // 3.14+: a _PyStackRef
    if (value && (kinds[i] & (kFastCell | kFastFree))) value = cell_contents(value);
    values[i] = value;
  }
  // <= 3.10: an argument that a closure uses lives in its cell, and its own slot is empty.
  if (!layout.interpreter_frames)
    for (std::size_t c = cells_from; c < names.size(); ++c)
      for (std::size_t a = 0; a < arguments && a < cells_from; ++a)
        if (!values[a] && names[a] == names[c]) values[a] = values[c], values[c] = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!values[i] || (kinds[i] & kFastHidden)) continue;
    path_.clear();
    std::string text;
    append(text, values[i], 0);
    out.push_back({names[i], std::move(text), i < arguments});
  }
  return out;
}

}  // namespace pyfold::record
