#include "pyfold/text.hpp"

#include <cstdarg>
#include <cstdio>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

namespace pyfold {
namespace {

inline std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Length of the valid UTF-8 sequence at s (at most n bytes), and its code point; 0 when invalid.
inline std::size_t utf8_sequence(const unsigned char* s, std::size_t n, std::uint32_t& cp) {
  unsigned char c = s[0];
  std::size_t len;
  std::uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

inline bool xml_forbidden(std::uint32_t cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF;
}

template <bool Escape>
void append_repaired(std::string& out, std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Copy the longest run of plain ASCII that needs no escaping at once.
    std::size_t run = i;
    while (run < n && s[run] >= 0x20 && s[run] < 0x80 &&
           (!Escape || (s[run] != '&' && s[run] != '<' && s[run] != '>' && s[run] != '"')))
      ++run;
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == n) break;
    }
    unsigned char c = s[i];
    if (c >= 0x20 && c < 0x80) {
      if (Escape) {
        switch (c) {
          case '&': out += "&amp;"; ++i; continue;
          case '<': out += "&lt;"; ++i; continue;
          case '>': out += "&gt;"; ++i; continue;
          case '"': out += "&quot;"; ++i; continue;
          default: break;
        }
      }
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t len = utf8_sequence(s + i, n - i, cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for each byte that does not start a valid sequence
      ++i;
      continue;
    }
    if (!xml_forbidden(cp)) out.append(text.data() + i, len);
    i += len;
  }
}

}  // namespace

namespace {
std::uint64_t process_seed() {
  std::uint64_t seed = 0;
  std::random_device device;
  seed = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return seed;
}
const std::uint64_t kSeed = process_seed();
}  // namespace

Hash128 hash128(std::string_view bytes) {
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  std::uint64_t h1 = kSeed, h2 = kSeed ^ 0x9E3779B97F4A7C15ULL;
  std::size_t blocks = n / 16;
  for (std::size_t i = 0; i < blocks; ++i, p += 16) {
    std::uint64_t k1, k2;
    std::memcpy(&k1, p, 8);
    std::memcpy(&k2, p + 8, 8);
    k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }
  std::size_t tail = n & 15;
  if (tail > 0) {
    std::uint64_t k1 = 0, k2 = 0;
    std::memcpy(&k1, p, tail < 8 ? tail : 8);
    if (tail > 8) std::memcpy(&k2, p + 8, tail - 8);
    if (tail > 8) {
      k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
    }
    k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
  }
  h1 ^= n;
  h2 ^= n;
  h1 += h2;
  h2 += h1;
  h1 = mix64(h1);
  h2 = mix64(h2);
  h1 += h2;
  h2 += h1;
  return Hash128{h1, h2};
}

void append_xml_escaped(std::string& out, std::string_view text) { append_repaired<true>(out, text); }

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_repaired<false>(out, text);
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

std::size_t utf8_prefix_bytes(std::string_view text, std::size_t code_points) {
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (code_points == 0) return i;
      --code_points;
    }
  }
  return i;
}

std::string format(const char* fmt, ...) {
  char small[128];
  va_list args;
  va_start(args, fmt);
  int n = std::vsnprintf(small, sizeof small, fmt, args);
  va_end(args);
  if (n < 0) return std::string();
  if (static_cast<std::size_t>(n) < sizeof small) return std::string(small, static_cast<std::size_t>(n));
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  va_start(args, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, args);
  va_end(args);
  big.resize(static_cast<std::size_t>(n));
  return big;
}

namespace {

// v * 10^decimals rounded as printf would round the exact binary value, when that is certain: the product's
// error is far below 1e-3, so only values within 1e-3 of a tie are left to the exact (slow) path.
inline bool scaled_round(double v, int decimals, std::int64_t& scaled) {
  static const double kPow10[] = {1, 10, 100, 1000, 10000};
  if (decimals < 0 || decimals > 4) return false;
  double s = std::fabs(v) * kPow10[decimals];
  if (!(s < 1e12)) return false;
  double whole = std::floor(s);
  double frac = s - whole;
  if (std::fabs(frac - 0.5) < 1e-3) return false;
  scaled = static_cast<std::int64_t>(frac > 0.5 ? whole + 1 : whole);
  return true;
}

inline void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(result.ptr - buf));
}

}  // namespace

char* write_fixed(char* out, double value, int decimals) {
  std::int64_t scaled;
  if (scaled_round(value, decimals, scaled)) {
    if (std::signbit(value)) *out++ = '-';
    char buf[32];
    char* end = std::to_chars(buf, buf + sizeof buf, scaled).ptr;
    std::size_t n = static_cast<std::size_t>(end - buf);
    std::size_t d = static_cast<std::size_t>(decimals);
    if (n <= d) {  // 0.05: zeros before the digits
      *out++ = '0';
      *out++ = '.';
      for (std::size_t i = n; i < d; ++i) *out++ = '0';
      std::memcpy(out, buf, n);
      return out + n;
    }
    std::memcpy(out, buf, n - d);
    out += n - d;
    if (d > 0) {
      *out++ = '.';
      std::memcpy(out, end - d, d);
      out += d;
    }
    return out;
  }
  auto result = std::to_chars(out, out + 40, value, std::chars_format::fixed, decimals);
  if (result.ec == std::errc()) return result.ptr;
  int n = std::snprintf(out, 40, "%.*f", decimals, value);  // does not happen for finite values below 1e17
  return out + (n > 0 ? std::min(n, 39) : 0);
}

void append_fixed(std::string& out, double value, int decimals) {
  char buf[48];
  out.append(buf, static_cast<std::size_t>(write_fixed(buf, value, decimals) - buf));
}

std::string fixed(double value, int decimals) {
  std::string out;
  append_fixed(out, value, decimals);
  return out;
}

char* write_perl_number(char* out, double value) {
  if (value == 0) {  // Perl prints -0 as 0 too
    *out++ = '0';
    return out;
  }
  // Integers and halves (most coordinates) print exactly without the general algorithm.
  double twice = value * 2;
  if (std::fabs(value) < 1e14 && twice == std::floor(twice)) {
    std::int64_t t = static_cast<std::int64_t>(twice);
    if (t % 2 == 0) return std::to_chars(out, out + 24, t / 2).ptr;
    if (t < 0) *out++ = '-';
    out = std::to_chars(out, out + 24, (t < 0 ? -t : t) / 2).ptr;
    *out++ = '.';
    *out++ = '5';
    return out;
  }
  return std::to_chars(out, out + 40, value, std::chars_format::general, 15).ptr;
}

void append_perl_number(std::string& out, double value) {
  char buf[48];
  out.append(buf, static_cast<std::size_t>(write_perl_number(buf, value) - buf));
}

std::string perl_number(double value) {
  std::string out;
  append_perl_number(out, value);
  return out;
}

double round_as_printed(double value, int decimals) {
  static const double kPow10[] = {1, 10, 100, 1000, 10000};
  std::int64_t scaled;
  if (scaled_round(value, decimals, scaled)) {
    double r = static_cast<double>(scaled) / kPow10[decimals];
    return std::signbit(value) ? -r : r;
  }
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  double rounded = value;
  std::from_chars(buf, result.ptr, rounded);
  return rounded;
}

void append_with_thousands(std::string& out, std::string_view digits) {
  std::size_t start = (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) ? 1 : 0;
  std::size_t end = digits.find_first_not_of("0123456789", start);
  if (end == std::string_view::npos) end = digits.size();
  out.append(digits.substr(0, start));
  for (std::size_t i = start; i < end; ++i) {
    if (i > start && (end - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  out.append(digits.substr(end));
}

std::string with_thousands(std::string digits) {
  std::size_t start = (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) ? 1 : 0;
  std::size_t end = digits.find_first_not_of("0123456789", start);
  if (end == std::string::npos) end = digits.size();
  for (std::size_t pos = end; pos > start + 3;) {
    pos -= 3;
    digits.insert(pos, 1, ',');
  }
  return digits;
}

void append_script_json_string(std::string& out, std::string_view raw) {
  std::string text = sanitize_utf8(raw);
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += format("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace pyfold
