// Python objects read from outside: strings, bytes, ints, dicts, attributes.
#include "pyfold/record/cpython/python_objects.hpp"

#include <algorithm>
#include <cstring>

namespace pyfold::record {

namespace {
constexpr std::uint64_t kMaxStringLength = 1 << 16;
constexpr std::uint64_t kMaxBytesLength = 1 << 22;
constexpr std::size_t kShortKey = 32;
constexpr std::size_t kInlineChars = 64;
constexpr std::size_t kKeysFirstRead = 1024;  // keys_items: bytes of a dict's keys object read at once  // read_string_prefix: bytes of characters read with the header  // attributes(): names up to this long are compared from one batched read

std::uint64_t u64_at(const unsigned char* p, int offset) {
  std::uint64_t v;
  std::memcpy(&v, p + offset, 8);
  return v;
}

void append_utf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 63)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 63)));
    out.push_back(static_cast<char>(0x80 | (c & 63)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 63)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 63)));
    out.push_back(static_cast<char>(0x80 | (c & 63)));
  }
}

// Reads the first size bytes of the object at address into header; false unless the object is of type.
bool read_header(MemoryReader& memory, const PythonRuntime& rt, std::uint64_t address, unsigned char* header,
                 int size, std::uint64_t type) {
  return memory.read(address, header, static_cast<std::size_t>(size)) &&
         u64_at(header, rt.layout.object_type) == type;
}
}  // namespace

bool PythonObjects::read_string(std::uint64_t address, std::string& out) {
  std::uint64_t length;
  return read_string_prefix(address, kMaxStringLength, out, length);
}

bool PythonObjects::read_string_prefix(std::uint64_t address, std::uint64_t max_chars, std::string& out,
                                       std::uint64_t& total) {
  const GeneratedLayout& o = rt_.layout.offsets;
  // The header and, for a short string, its characters in one read (exactly the header if the object ends near
  // unmapped memory).
  unsigned char header[128 + kInlineChars];
  const int header_size = o.unicode_compact_size;
  int have = header_size + static_cast<int>(kInlineChars);
  if (!read_header(memory_, rt_, address, header, have, rt_.unicode_type)) {
    have = header_size;
    if (!read_header(memory_, rt_, address, header, header_size, rt_.unicode_type)) return false;
  }
  std::uint64_t length = u64_at(header, o.unicode_length);
  std::uint32_t state;
  std::memcpy(&state, header + o.unicode_state, sizeof state);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || (kind != 1 && kind != 2 && kind != 4) || length > kMaxStringLength || (ascii && kind != 1))
    return false;
  total = length;
  length = std::min(length, max_chars);
  std::vector<unsigned char> data(length * kind);
  int at = ascii ? o.unicode_ascii_size : o.unicode_compact_size;
  if (at + data.size() <= static_cast<std::size_t>(have)) {
    if (!data.empty()) std::memcpy(data.data(), header + at, data.size());
  } else if (length && !memory_.read(address + at, data.data(), data.size())) {
    return false;
  }
  out.clear();
  for (std::uint64_t i = 0; i < length; ++i) {
    std::uint32_t c = kind == 1 ? data[i]
                      : kind == 2 ? static_cast<std::uint32_t>(data[2 * i] | (data[2 * i + 1] << 8))
                                  : static_cast<std::uint32_t>(data[4 * i] | (data[4 * i + 1] << 8) |
                                                               (data[4 * i + 2] << 16) | (data[4 * i + 3] << 24));
    if (ascii && c >= 0x80) return false;
    if (c > 0x10ffff) return false;
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;  // lone surrogate
    append_utf8(out, c);
  }
  return true;
}

bool PythonObjects::read_bytes(std::uint64_t address, std::string& out) {
  const GeneratedLayout& o = rt_.layout.offsets;
  unsigned char header[64];
  if (!read_header(memory_, rt_, address, header, o.bytes_sval, rt_.bytes_type)) return false;
  std::uint64_t size = u64_at(header, o.bytes_size);
  if (size > kMaxBytesLength) return false;
  out.resize(size);
  return size == 0 || memory_.read(address + o.bytes_sval, out.data(), size);
}

bool PythonObjects::read_int(std::uint64_t address, std::uint64_t& value) {
  const GeneratedLayout& o = rt_.layout.offsets;
  unsigned char b[64];
  return memory_.read(address, b, static_cast<std::size_t>(o.long_digits) + 12) && decode_int(b, value);
}

std::size_t PythonObjects::read_ints(const std::uint64_t* addresses, std::size_t count, std::uint64_t* values,
                                     bool* ok) {
  const std::size_t size = static_cast<std::size_t>(rt_.layout.offsets.long_digits) + 12;
  std::vector<unsigned char> bytes(count * size);
  std::vector<MemoryRange> ranges(count);
  for (std::size_t i = 0; i < count; ++i) ranges[i] = {addresses[i], bytes.data() + i * size, size};
  std::size_t read = memory_.read_many(ranges.data(), count), good = 0;
  for (std::size_t i = 0; i < count; ++i) {
    // Past the first range that could not be read whole (an int at the end of a mapping): one by one.
    ok[i] = i < read ? decode_int(bytes.data() + i * size, values[i]) : read_int(addresses[i], values[i]);
    good += ok[i];
  }
  return good;
}

bool PythonObjects::decode_int(const unsigned char* b, std::uint64_t& value) const {
  const GeneratedLayout& o = rt_.layout.offsets;
  if (rt_.long_type == 0 || u64_at(b, rt_.layout.object_type) != rt_.long_type) return false;
  std::int64_t size = static_cast<std::int64_t>(u64_at(b, o.long_size));
  std::uint64_t digits;
  if (o.minor >= 12) {  // lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative)
    if ((size & 3) == 2) return false;
    digits = static_cast<std::uint64_t>(size) >> 3;
  } else {
    if (size < 0) return false;
    digits = static_cast<std::uint64_t>(size);
  }
  if (digits > 3) return false;
  value = 0;
  for (std::uint64_t i = 0; i < digits; ++i) {
    std::uint32_t d;
    std::memcpy(&d, b + o.long_digits + 4 * i, 4);
    value |= static_cast<std::uint64_t>(d & 0x3fffffff) << (30 * i);
  }
  return true;
}

std::uint64_t PythonObjects::dict_get(std::uint64_t dict, std::string_view key) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  if (!dict_items(dict, items)) return 0;
  std::string text;
  for (const auto& [k, v] : items)
    if (k && v && read_string(k, text) && text == key) return v;
  return 0;
}

bool PythonObjects::dict_items(std::uint64_t dict, std::vector<std::pair<std::uint64_t, std::uint64_t>>& items,
                               std::vector<std::uint64_t>* slots) {
  const GeneratedLayout& o = rt_.layout.offsets;
  const int first = std::min(o.dict_keys, o.dict_values), span = std::max(o.dict_keys, o.dict_values) + 8 - first;
  unsigned char b[64];
  if (first < 0 || span > 64 || !memory_.read(dict + first, b, static_cast<std::size_t>(span))) return false;
  return keys_items(u64_at(b, o.dict_keys - first), u64_at(b, o.dict_values - first), items, slots);
}

bool PythonObjects::keys_items(std::uint64_t keys, std::uint64_t values,
                               std::vector<std::pair<std::uint64_t, std::uint64_t>>& items,
                               std::vector<std::uint64_t>* slots) {
  const GeneratedLayout& o = rt_.layout.offsets;
  items.clear();
  if (slots) slots->clear();
  // The header and, for a small dict, its indices and entries in one read (exactly the header if the keys object
  // ends near unmapped memory).
  unsigned char first[kKeysFirstRead];
  std::size_t have = sizeof first;
  if (o.dictkeys_indices > 64) return false;
  if (!memory_.read(keys, first, have)) {
    have = static_cast<std::size_t>(o.dictkeys_indices);
    if (!memory_.read(keys, first, have)) return false;
  }
  const unsigned char* h = first;
  std::uint64_t size, index_bytes, entry_size = 24, key_at = 8;
  std::int64_t entries;
  std::memcpy(&entries, h + o.dictkeys_nentries, 8);
  if (o.dictkeys_kind < 0) {  // <= 3.10: Py_ssize_t dk_size; index width from the size
    size = u64_at(h, o.dictkeys_size);
    index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8);
  } else {  // 3.11+: log2 sizes; unicode-only keys have (key, value) entries without the hash
    if (h[o.dictkeys_size] > 40 || h[o.dictkeys_index_bytes] > 40) return false;
    size = std::uint64_t{1} << h[o.dictkeys_size];
    index_bytes = std::uint64_t{1} << h[o.dictkeys_index_bytes];
    if (h[o.dictkeys_kind] != 0) entry_size = 16, key_at = 0;
  }
  if (entries < 0 || static_cast<std::uint64_t>(entries) > size || size > (1u << 20)) return false;
  std::vector<unsigned char> table(static_cast<std::size_t>(entries) * entry_size);
  const std::uint64_t table_at = static_cast<std::uint64_t>(o.dictkeys_indices) + index_bytes;
  if (table_at + table.size() <= have) {
    if (!table.empty()) std::memcpy(table.data(), first + table_at, table.size());
  } else if (entries && !memory_.read(keys + table_at, table.data(), table.size())) {
    return false;
  }
  std::vector<std::uint64_t> split(values ? static_cast<std::size_t>(entries) : 0);
  const std::uint64_t split_at = values + static_cast<std::uint64_t>(std::max(o.dictvalues_values, 0));
  if (values && entries && !memory_.read(split_at, split.data(), split.size() * 8)) return false;
  for (std::int64_t i = 0; i < entries; ++i) {
    const std::uint64_t entry = static_cast<std::uint64_t>(i) * entry_size + key_at;
    std::uint64_t key = u64_at(table.data(), static_cast<int>(entry));
    std::uint64_t value = values ? split[static_cast<std::size_t>(i)] : u64_at(table.data(), static_cast<int>(entry + 8));
    if (!key) continue;
    items.emplace_back(key, value);
    if (slots)
      slots->push_back(values ? split_at + 8 * static_cast<std::uint64_t>(i)
                              : keys + o.dictkeys_indices + index_bytes + entry + 8);
  }
  return true;
}

std::uint64_t PythonObjects::attribute(std::uint64_t object, std::string_view name, std::uint64_t* slot) {
  std::uint64_t value = 0;
  attributes(object, &name, 1, &value, slot);
  return value;
}

std::size_t PythonObjects::attributes(std::uint64_t object, const std::string_view* names, std::size_t count,
                                      std::uint64_t* found_values, std::uint64_t* slots) {
  for (std::size_t i = 0; i < count; ++i) found_values[i] = 0;
  const GeneratedLayout& o = rt_.layout.offsets;
  constexpr std::uint64_t kManagedDict = 1 << 4, kInlineValues = 1 << 2;
  // The object's words around its start in one read: the type, and where its dict or values pointer is (<= 3.10:
  // at tp_dictoffset, most often just after the header; 3.11+: 3 and 4 words before the object).
  constexpr int kBefore = 32, kAfter = 64;
  unsigned char around[kBefore + kAfter];
  const bool near = memory_.read(object - kBefore, around, sizeof around);
  auto word_at = [&](std::int64_t offset, std::uint64_t& out) {
    if (near && offset >= -kBefore && offset + 8 <= kAfter) {
      out = u64_at(around, static_cast<int>(offset + kBefore));
      return true;
    }
    return memory_.read_value(object + static_cast<std::uint64_t>(offset), out);
  };
  std::uint64_t type = 0;
  if (!word_at(rt_.layout.object_type, type)) return 0;
  // The type's fields in one read: dict offset, flags, cached keys (a heap type's), basic size.
  const int first = std::min({o.type_dictoffset, o.type_flags, o.heaptype_cached_keys, o.type_basicsize});
  const int last = std::max({o.type_dictoffset, o.type_flags, o.heaptype_cached_keys, o.type_basicsize}) + 8;
  if (first < 0 || last - first > 4096) return 0;
  std::vector<unsigned char> fields(static_cast<std::size_t>(last - first));
  if (!memory_.read(type + first, fields.data(), fields.size())) return 0;
  const std::int64_t dict_offset = static_cast<std::int64_t>(u64_at(fields.data(), o.type_dictoffset - first));
  const std::uint64_t flags = u64_at(fields.data(), o.type_flags - first),
                      cached_keys = u64_at(fields.data(), o.heaptype_cached_keys - first);
  const std::int64_t type_basicsize = static_cast<std::int64_t>(u64_at(fields.data(), o.type_basicsize - first));
  std::uint64_t dict = 0, values = 0;
  if (o.minor <= 10 || !(flags & kManagedDict)) {
    if (dict_offset <= 0 || !word_at(dict_offset, dict)) return 0;
  } else if (o.minor == 11) {  // dict at -3 words, or values at -4 with the type's cached keys
    if (!word_at(-24, dict)) return 0;
    if (!dict && !word_at(-32, values)) return 0;
  } else if (o.minor == 12) {  // one word at -3: a dict, or the values pointer minus 1 (bit 0 set)
    std::uint64_t dict_or_values = 0;
    if (!word_at(-24, dict_or_values)) return 0;
    if (dict_or_values & 1) values = dict_or_values + 1;
    else dict = dict_or_values;
  } else {  // 3.13+: managed dict at -3 words, else values inline after the object (at tp_basicsize)
    if (!word_at(-24, dict)) return 0;
    if (!dict && (flags & kInlineValues)) {
      const std::int64_t basicsize = type_basicsize;
      if (basicsize < 16 || basicsize > (1 << 16) || basicsize % 8 != 0) return 0;
      values = object + static_cast<std::uint64_t>(basicsize);
    }
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  std::vector<std::uint64_t> item_slots;
  if (dict) {
    if (!dict_items(dict, items, &item_slots)) return 0;
  } else if (!values || !cached_keys || !keys_items(cached_keys, values, items, &item_slots)) {
    return 0;
  }
  // The keys' headers and first characters in one read: attribute names are short ASCII strings.
  const GeneratedLayout& lo = rt_.layout.offsets;
  const std::size_t head = static_cast<std::size_t>(lo.unicode_ascii_size) + kShortKey;
  std::vector<unsigned char> bytes(items.size() * head);
  std::vector<MemoryRange> ranges(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) ranges[i] = {items[i].first, bytes.data() + i * head, head};
  const std::size_t read = memory_.read_many(ranges.data(), ranges.size());
  std::size_t found = 0;
  std::string text;
  for (std::size_t i = 0; i < items.size() && found < count; ++i) {
    if (!items[i].second) continue;
    std::string_view key;
    if (i < read) {
      const unsigned char* b = bytes.data() + i * head;
      std::uint32_t state;
      std::memcpy(&state, b + lo.unicode_state, sizeof state);
      const std::uint64_t length = u64_at(b, lo.unicode_length);
      if (u64_at(b, rt_.layout.object_type) != rt_.unicode_type || !((state >> 5) & 1) || !((state >> 6) & 1) ||
          length > kShortKey)
        continue;  // not a short ASCII str: none of the names
      key = std::string_view(reinterpret_cast<const char*>(b + lo.unicode_ascii_size), length);
    } else if (read_string(items[i].first, text)) {  // the key ends near unmapped memory: alone
      key = text;
    } else {
      continue;
    }
    for (std::size_t n = 0; n < count; ++n)
      if (!found_values[n] && key == names[n]) {
        found_values[n] = items[i].second;
        if (slots) slots[n] = item_slots[i];
        ++found;
      }
  }
  return found;
}

}  // namespace pyfold::record
