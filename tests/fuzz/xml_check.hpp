#pragma once
// A small XML well-formedness check for the fuzzers: the SVG renderer's output must parse as XML whatever the frame
// names were. Checks UTF-8 validity, characters XML forbids, tag nesting, quoted attributes with no '<' inside,
// entity and character references, comments, CDATA sections, the XML declaration and a DOCTYPE line.
// Returns "" when well-formed, else what is wrong and where.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pyfold_fuzz {

inline bool xml_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}

// Valid UTF-8 and only characters XML 1.0 allows (tab, LF, CR, U+0020 and above, no surrogates, no U+FFFE/FFFF).
inline std::string check_chars(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    std::size_t n;
    if (b < 0x80) { cp = b; n = 1; }
    else if ((b & 0xE0) == 0xC0) { cp = b & 0x1F; n = 2; }
    else if ((b & 0xF0) == 0xE0) { cp = b & 0x0F; n = 3; }
    else if ((b & 0xF8) == 0xF0) { cp = b & 0x07; n = 4; }
    else return "invalid UTF-8 lead byte at " + std::to_string(i);
    if (i + n > s.size()) return "truncated UTF-8 at " + std::to_string(i);
    for (std::size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return "invalid UTF-8 continuation at " + std::to_string(i + k);
      cp = (cp << 6) | (c & 0x3F);
    }
    static const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return "invalid code point at " + std::to_string(i);
    if ((cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD) || cp == 0xFFFE || cp == 0xFFFF)
      return "character XML forbids at " + std::to_string(i);
    i += n;
  }
  return "";
}

// '&' starts name; or &#digits; or &#xhex;
inline bool reference_ok(std::string_view s, std::size_t amp, std::size_t& end) {
  std::size_t semi = s.find(';', amp);
  if (semi == std::string_view::npos || semi == amp + 1) return false;
  std::string_view body = s.substr(amp + 1, semi - amp - 1);
  end = semi + 1;
  if (body[0] == '#') {
    bool hex = body.size() > 1 && body[1] == 'x';
    std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    std::uint32_t cp = 0;
    for (char c : digits) {
      int v = (c >= '0' && c <= '9') ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0 || cp > 0x10FFFF) return false;
      cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
    }
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
  }
  return body == "lt" || body == "gt" || body == "amp" || body == "quot" || body == "apos";
}

inline std::string check_text(std::string_view s, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (s[i] == '&') {
      std::size_t end;
      if (!reference_ok(s.substr(0, to), i, end)) return "bad reference at " + std::to_string(i);
      i = end - 1;
    } else if (s[i] == '<') {
      return "'<' in text at " + std::to_string(i);
    }
  }
  return "";
}

inline std::string check_xml(std::string_view s) {
  if (std::string chars = check_chars(s); !chars.empty()) return chars;
  std::vector<std::string_view> open;
  bool root_seen = false;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t lt = s.find('<', i);
    std::size_t text_end = lt == std::string_view::npos ? s.size() : lt;
    if (std::string t = check_text(s, i, text_end); !t.empty()) return t;
    if (open.empty()) {
      for (std::size_t k = i; k < text_end; ++k)
        if (s[k] != ' ' && s[k] != '\n' && s[k] != '\r' && s[k] != '\t')
          return "text outside the root element at " + std::to_string(k);
    }
    if (lt == std::string_view::npos) break;
    std::string_view rest = s.substr(lt);
    auto skip_to = [&](std::string_view end_mark, const char* what) -> std::string {
      std::size_t e = s.find(end_mark, lt + 2);
      if (e == std::string_view::npos) return std::string("unterminated ") + what + " at " + std::to_string(lt);
      i = e + end_mark.size();
      return "";
    };
    if (rest.substr(0, 4) == "<!--") {
      std::size_t e = s.find("-->", lt + 4);
      if (e == std::string_view::npos) return "unterminated comment at " + std::to_string(lt);
      if (s.substr(lt + 4, e - lt - 4).find("--") != std::string_view::npos || s[e - 1] == '-')
        return "'--' inside a comment at " + std::to_string(lt);
      i = e + 3;
      continue;
    }
    if (rest.substr(0, 9) == "<![CDATA[") {
      if (open.empty()) return "CDATA outside the root at " + std::to_string(lt);
      if (auto e = skip_to("]]>", "CDATA"); !e.empty()) return e;
      continue;
    }
    if (rest.substr(0, 2) == "<?") {
      if (auto e = skip_to("?>", "processing instruction"); !e.empty()) return e;
      continue;
    }
    if (rest.substr(0, 9) == "<!DOCTYPE") {
      if (root_seen || !open.empty()) return "DOCTYPE after the root at " + std::to_string(lt);
      if (auto e = skip_to(">", "DOCTYPE"); !e.empty()) return e;
      continue;
    }
    bool closing = rest.size() > 1 && rest[1] == '/';
    std::size_t p = lt + (closing ? 2 : 1);
    std::size_t name_start = p;
    while (p < s.size() && xml_name_char(s[p])) ++p;
    if (p == name_start) return "bad tag name at " + std::to_string(lt);
    std::string_view name = s.substr(name_start, p - name_start);
    if (closing) {
      while (p < s.size() && s[p] == ' ') ++p;
      if (p >= s.size() || s[p] != '>') return "bad end tag at " + std::to_string(lt);
      if (open.empty() || open.back() != name)
        return "end tag </" + std::string(name) + "> does not match at " + std::to_string(lt);
      open.pop_back();
      i = p + 1;
      continue;
    }
    if (open.empty() && root_seen) return "a second root element at " + std::to_string(lt);
    std::vector<std::string_view> attributes;
    for (;;) {
      std::size_t before = p;
      while (p < s.size() && (s[p] == ' ' || s[p] == '\n' || s[p] == '\t' || s[p] == '\r')) ++p;
      if (p >= s.size()) return "unterminated tag at " + std::to_string(lt);
      if (s[p] == '>' || (s[p] == '/' && p + 1 < s.size() && s[p + 1] == '>')) break;
      if (p == before) return "no space before an attribute at " + std::to_string(p);
      std::size_t a = p;
      while (p < s.size() && xml_name_char(s[p])) ++p;
      if (p == a || p >= s.size() || s[p] != '=') return "bad attribute at " + std::to_string(a);
      std::string_view attribute = s.substr(a, p - a);
      for (auto seen : attributes)
        if (seen == attribute) return "repeated attribute at " + std::to_string(a);
      attributes.push_back(attribute);
      ++p;
      if (p >= s.size() || (s[p] != '"' && s[p] != '\'')) return "unquoted attribute at " + std::to_string(a);
      char quote = s[p];
      std::size_t close = s.find(quote, p + 1);
      if (close == std::string_view::npos) return "unterminated attribute at " + std::to_string(a);
      if (s.substr(p + 1, close - p - 1).find('<') != std::string_view::npos)
        return "'<' in an attribute at " + std::to_string(a);
      if (std::string t = check_text(s, p + 1, close); !t.empty()) return t;
      p = close + 1;
    }
    root_seen = true;
    if (s[p] == '/') {
      i = p + 2;
    } else {
      open.push_back(name);
      i = p + 1;
    }
  }
  if (!open.empty()) return "unclosed <" + std::string(open.back()) + ">";
  if (!root_seen) return "no root element";
  return "";
}

}  // namespace pyfold_fuzz
