#include "pyfold/render/palette.hpp"

#include <cctype>
#include <fstream>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/text.hpp"

namespace pyfold {
namespace {

// Perl's rand() is drand48: flamegraph.pl seeds it per name, so reproducing it reproduces its colours.
struct Drand48 {
  std::uint64_t x;
  explicit Drand48(std::uint32_t seed) : x((static_cast<std::uint64_t>(seed) << 16) | 0x330E) {}
  double next() {
    x = (x * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return static_cast<double>(x) / static_cast<double>(1ULL << 48);
  }
};

// Code points of a name (bytes where the UTF-8 is invalid), as Perl sees a decoded string.
template <typename F>
void for_each_code_point(std::string_view s, F&& f) {
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > s.size()) len = 1;
    std::uint32_t cp = len == 1 ? c : (c & (0x7F >> len));
    bool valid = true;
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      cp = c;
      len = 1;
    }
    f(cp);
    i += len;
  }
}

// flamegraph.pl's random_namehash: srand(sum of code points); rand(1).
double name_sum_value(std::string_view name) {
  std::uint32_t sum = 0;
  for_each_code_point(name, [&](std::uint32_t cp) { sum += cp; });
  return Drand48(sum).next();
}

// flamegraph.pl's namehash (--hash): the first three characters, weighted; a "module`" prefix is skipped.
double weighted_name_value(std::string_view name) {
  std::size_t tick = name.size() > 1 ? name.find('`', 1) : std::string_view::npos;
  if (tick != std::string_view::npos) name.remove_prefix(tick + 1);
  double vector = 0, weight = 1, max = 1;
  int mod = 10;
  bool done = false;
  for_each_code_point(name, [&](std::uint32_t cp) {
    if (done) return;
    double i = static_cast<double>(cp % static_cast<std::uint32_t>(mod));
    vector += (i / (mod++ - 1)) * weight;
    max += weight;
    weight *= 0.70;
    if (mod > 12) done = true;
  });
  return 1 - vector / max;
}

std::string reversed_code_points(std::string_view name) {
  std::vector<std::string_view> chars;
  std::size_t start = 0;
  std::size_t pos = 0;
  for_each_code_point(name, [&](std::uint32_t) {
    // Recover the byte length of this code point from the next lead byte.
    std::size_t next = pos + 1;
    while (next < name.size() && (static_cast<unsigned char>(name[next]) & 0xC0) == 0x80) ++next;
    chars.push_back(name.substr(start, next - start));
    start = pos = next;
  });
  std::string out;
  out.reserve(name.size());
  for (auto it = chars.rbegin(); it != chars.rend(); ++it) out.append(*it);
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// flamegraph.pl's java test: ^L?(java|javax|jdk|net|org|com|io|sun)/
bool java_package(std::string_view name) {
  std::string_view without_l = !name.empty() && name[0] == 'L' ? name.substr(1) : name;
  for (std::string_view prefix : {"java/", "javax/", "jdk/", "net/", "org/", "com/", "io/", "sun/"})
    if (name.rfind(prefix, 0) == 0 || without_l.rfind(prefix, 0) == 0) return true;
  return false;
}

// flamegraph.pl's js test: /.*\.js
bool js_source(std::string_view name) {
  std::size_t slash = name.find('/');
  return slash != std::string_view::npos && name.find(".js", slash + 1) != std::string_view::npos;
}

std::string rgb(int r, int g, int b) {
  std::string out = "rgb(";
  out += std::to_string(r);
  out += ',';
  out += std::to_string(g);
  out += ',';
  out += std::to_string(b);
  out += ')';
  return out;
}

// The flat palettes all multi palettes fall through to (flamegraph.pl's "color palettes").
std::string flat(PaletteKind kind, double v1) {
  switch (kind) {
    case PaletteKind::red: {
      int x = 50 + int(80 * v1);
      return rgb(200 + int(55 * v1), x, x);
    }
    case PaletteKind::green: {
      int x = 50 + int(60 * v1);
      return rgb(x, 200 + int(55 * v1), x);
    }
    case PaletteKind::blue: {
      int x = 80 + int(60 * v1);
      return rgb(x, x, 205 + int(50 * v1));
    }
    case PaletteKind::yellow: {
      int x = 175 + int(55 * v1);
      return rgb(x, x, 50 + int(20 * v1));
    }
    case PaletteKind::purple: {
      int x = 190 + int(65 * v1);
      return rgb(x, 80 + int(60 * v1), x);
    }
    case PaletteKind::aqua: return rgb(50 + int(60 * v1), 165 + int(55 * v1), 165 + int(55 * v1));
    case PaletteKind::orange: return rgb(190 + int(65 * v1), 90 + int(65 * v1), 0);
    default: return "rgb(0,0,0)";
  }
}

}  // namespace

bool parse_palette(std::string_view name, PaletteKind& kind) {
  static const std::pair<const char*, PaletteKind> table[] = {
      {"hot", PaletteKind::hot},       {"mem", PaletteKind::mem},       {"io", PaletteKind::io},
      {"wakeup", PaletteKind::wakeup}, {"chain", PaletteKind::chain},   {"java", PaletteKind::java},
      {"js", PaletteKind::js},         {"perl", PaletteKind::perl},     {"red", PaletteKind::red},
      {"green", PaletteKind::green},   {"blue", PaletteKind::blue},     {"aqua", PaletteKind::aqua},
      {"yellow", PaletteKind::yellow}, {"purple", PaletteKind::purple}, {"orange", PaletteKind::orange},
      {"python", PaletteKind::python},
  };
  for (const auto& [n, k] : table) {
    if (name == n) {
      kind = k;
      return true;
    }
  }
  return false;
}

const char* palette_names() {
  return "hot, mem, io, wakeup, chain, java, js, perl, red, green, blue, aqua, yellow, purple, orange, python";
}

Palette::Palette(PaletteKind kind, ColorSeed seed, std::uint64_t random_seed)
    : kind_(kind), seed_(seed), random_state_(((random_seed << 16) | 0x330E) & ((1ULL << 48) - 1)) {}

std::string Palette::color(std::string_view name, bool waker) {
  double v1, v2, v3;
  if (seed_ == ColorSeed::hash) {
    v1 = weighted_name_value(name);
    v2 = v3 = weighted_name_value(reversed_code_points(name));
  } else if (seed_ == ColorSeed::random) {
    auto next = [this] {
      random_state_ = (random_state_ * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
      return static_cast<double>(random_state_) / static_cast<double>(1ULL << 48);
    };
    v1 = next();
    v2 = next();
    v3 = next();
  } else {
    v1 = v2 = v3 = name_sum_value(name);
  }

  PaletteKind type = kind_;
  switch (type) {
    case PaletteKind::hot: return rgb(205 + int(50 * v3), int(230 * v1), int(55 * v2));
    case PaletteKind::mem: return rgb(0, 190 + int(50 * v2), int(210 * v1));
    case PaletteKind::io: {
      int r = 80 + int(60 * v1);
      return rgb(r, r, 190 + int(55 * v2));
    }
    case PaletteKind::python:
      switch (classify_python_frame(name)) {
        case CodeOrigin::user: return rgb(205 + int(50 * v3), int(230 * v1), int(55 * v2));
        case CodeOrigin::stdlib: return flat(PaletteKind::blue, v1);
        case CodeOrigin::site_packages: return flat(PaletteKind::green, v1);
        case CodeOrigin::interpreter: return flat(PaletteKind::purple, v1);
        case CodeOrigin::native_library: return flat(PaletteKind::aqua, v1);
        case CodeOrigin::no_file: {
          int x = 175 + int(45 * v1);
          return rgb(x, x, x);
        }
      }
      break;
    case PaletteKind::java:
      if (ends_with(name, "_[j]")) {
        type = PaletteKind::green;
      } else if (ends_with(name, "_[i]")) {
        type = PaletteKind::aqua;
      } else if (java_package(name)) {
        type = PaletteKind::green;
      } else if (contains(name, ":::")) {
        type = PaletteKind::green;
      } else if (contains(name, "::")) {
        type = PaletteKind::yellow;
      } else if (ends_with(name, "_[k]")) {
        type = PaletteKind::orange;
      } else {
        type = PaletteKind::red;
      }
      break;
    case PaletteKind::perl:
      if (contains(name, "::")) {
        type = PaletteKind::yellow;
      } else if (contains(name, "Perl") || contains(name, ".pl")) {
        type = PaletteKind::green;
      } else if (ends_with(name, "_[k]")) {
        type = PaletteKind::orange;
      } else {
        type = PaletteKind::red;
      }
      break;
    case PaletteKind::js:
      if (ends_with(name, "_[j]")) {
        type = contains(name, "/") ? PaletteKind::green : PaletteKind::aqua;
      } else if (contains(name, "::")) {
        type = PaletteKind::yellow;
      } else if (js_source(name)) {
        type = PaletteKind::green;
      } else if (contains(name, ":")) {
        type = PaletteKind::aqua;
      } else if (name == " ") {
        type = PaletteKind::green;
      } else if (contains(name, "_[k]")) {
        type = PaletteKind::orange;
      } else {
        type = PaletteKind::red;
      }
      break;
    case PaletteKind::wakeup: type = PaletteKind::aqua; break;
    case PaletteKind::chain: type = waker || contains(name, "_[w]") ? PaletteKind::aqua : PaletteKind::blue; break;
    default: break;
  }
  return flat(type, v1);
}

std::string differential_color(double delta, double max_delta, bool negate) {
  int r = 255, g = 255, b = 255;
  if (negate) delta = -delta;
  if (delta > 0) {
    g = b = int(210 * (max_delta - delta) / max_delta);
  } else if (delta < 0) {
    r = g = int(210 * (max_delta + delta) / max_delta);
  }
  return rgb(r, g, b);
}

bool background_colors(std::string_view bgcolors, PaletteKind kind, std::string& from, std::string& to) {
  if (bgcolors.empty()) {
    switch (kind) {
      case PaletteKind::mem: bgcolors = "green"; break;
      case PaletteKind::io:
      case PaletteKind::wakeup:
      case PaletteKind::chain: bgcolors = "blue"; break;
      case PaletteKind::red:
      case PaletteKind::green:
      case PaletteKind::blue:
      case PaletteKind::aqua:
      case PaletteKind::yellow:
      case PaletteKind::purple:
      case PaletteKind::orange: bgcolors = "grey"; break;
      default: bgcolors = "yellow"; break;
    }
  }
  if (bgcolors == "yellow") {
    from = "#eeeeee", to = "#eeeeb0";
  } else if (bgcolors == "blue") {
    from = "#eeeeee", to = "#e0e0ff";
  } else if (bgcolors == "green") {
    from = "#eef2ee", to = "#e0ffe0";
  } else if (bgcolors == "grey") {
    from = "#f8f8f8", to = "#e8e8e8";
  } else if (bgcolors.size() == 7 && bgcolors[0] == '#' &&
             bgcolors.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos) {
    from = to = std::string(bgcolors);
  } else {
    return false;
  }
  return true;
}

void PaletteMap::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return;
  std::string line;
  while (std::getline(in, line)) {
    std::size_t arrow = line.rfind("->");
    if (arrow == std::string::npos) continue;
    colors_[line.substr(0, arrow)] = line.substr(arrow + 2);
  }
}

void PaletteMap::save(const std::string& path) const {
  auto out = OutputSink::open(path);
  for (const auto& [name, color] : colors_) {
    out->write(name);
    out->write("->");
    out->write(color);
    out->put('\n');
  }
  out->commit();
}

const std::string& PaletteMap::color(std::string_view name, Palette& palette) {
  auto it = colors_.find(name);
  if (it != colors_.end()) return it->second;
  return colors_.emplace(std::string(name), palette.color(name)).first->second;
}

}  // namespace pyfold
