#pragma once
// Text helpers shared by the renderers: UTF-8 repair, XML escaping, number formats.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pyfold {

// 128-bit hash of bytes (MurmurHash3 x64-128 structure) with a per-process random seed. Two frame names are the
// same name when their lengths and 128-bit hashes are equal: the chance of two different names colliding is about
// n^2 / 2^129 (1e-27 for a million names), and the random seed keeps crafted input from arranging collisions.
struct Hash128 {
  std::uint64_t low, high;
  bool operator==(const Hash128& o) const { return low == o.low && high == o.high; }
};
Hash128 hash128(std::string_view bytes);
// Its low half, for hash tables.
inline std::uint64_t hash_bytes(std::string_view bytes) { return hash128(bytes).low; }
// The 64-bit finalizer of MurmurHash3: spreads the bits of a key (an id pair, a path hash) over a table index.
inline std::uint64_t mix64(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Appends text made safe for XML character data or attribute values: & < > " escaped, characters XML 1.0
// forbids (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF) dropped, invalid UTF-8 replaced by U+FFFD.
void append_xml_escaped(std::string& out, std::string_view text);

// The same repair without escaping: valid UTF-8 with XML-forbidden characters removed.
std::string sanitize_utf8(std::string_view text);

// Number of code points in valid UTF-8 text (after sanitize_utf8).
std::size_t utf8_length(std::string_view text);
// Byte length of the first n code points of valid UTF-8 text.
std::size_t utf8_prefix_bytes(std::string_view text, std::size_t code_points);

// printf-style formatting into a string, for the few non-hot numbers we print.
// Appends raw as a JSON string literal (invalid UTF-8 repaired) that is also inert inside an HTML <script> or an
// SVG's CDATA: '<', '>' and '&' as \u escapes, so no text of a profile can close the element or open a comment.
void append_script_json_string(std::string& out, std::string_view raw);

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// A number as Perl prints it by default (%.15g): flamegraph.pl's geometry text.
std::string perl_number(double value);
void append_perl_number(std::string& out, double value);
// printf("%.*f") without printf's cost (std::to_chars is specified to print the same).
std::string fixed(double value, int decimals);
void append_fixed(std::string& out, double value, int decimals);
// The same into a buffer with room for 40 bytes; return the end of what was written.
char* write_fixed(char* out, double value, int decimals);
char* write_perl_number(char* out, double value);
// The value printf("%.*f") would print, read back: flamegraph.pl computes widths from printed coordinates.
double round_as_printed(double value, int decimals);
// An integer string with thousands separators: "1234567" -> "1,234,567" (flamegraph.pl's titles).
std::string with_thousands(std::string digits);
void append_with_thousands(std::string& out, std::string_view digits);

}  // namespace pyfold
