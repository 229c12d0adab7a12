#pragma once
// Frame colours: flamegraph.pl's palettes reproduced exactly (the same name gets the same colour as there), plus a
// palette for Python frames "func (file:line)" coloured by where the code lives.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "pyfold/frame_text.hpp"

namespace pyfold {

enum class PaletteKind {
  hot, mem, io, wakeup, chain, java, js, perl, red, green, blue, aqua, yellow, purple, orange, python
};

// "hot" -> PaletteKind::hot; false for an unknown name.
bool parse_palette(std::string_view name, PaletteKind& kind);
// The names accepted by parse_palette, comma separated, for --help.
const char* palette_names();

// How a frame's colour varies within its palette.
enum class ColorSeed {
  name_sum,  // flamegraph.pl's default: drand48 seeded with the sum of the name's code points
  hash,      // flamegraph.pl --hash: weighted by the first characters, similar names get similar colours
  random,    // flamegraph.pl --random: a new colour for every frame
};

// --colors python colours a frame by where its code lives: classify_python_frame (frame_text.hpp).

class Palette {
 public:
  // random_seed is used by ColorSeed::random only.
  Palette(PaletteKind kind, ColorSeed seed, std::uint64_t random_seed = 0);
  // "rgb(r,g,b)" for a frame name (with any _[k]-style annotation still on it: some palettes read it). waker:
  // the frame follows a "--" separator frame in its stack (the chain palette draws those as waker frames).
  std::string color(std::string_view name, bool waker = false);

 private:
  PaletteKind kind_;
  ColorSeed seed_;
  std::uint64_t random_state_;
};

// flamegraph.pl's colour for a differential frame: red for growth, blue for shrinkage, white for none.
std::string differential_color(double delta, double max_delta, bool negate);

// The two colours of the background gradient for --bgcolors ("" picks the palette's default, as flamegraph.pl
// does). False for an unknown name.
bool background_colors(std::string_view bgcolors, PaletteKind kind, std::string& from, std::string& to);

// flamegraph.pl --cp: a file of "name->rgb(r,g,b)" lines, read before drawing and written back after, so a
// name keeps its colour across graphs.
class PaletteMap {
 public:
  void load(const std::string& path);  // a missing file is an empty map
  void save(const std::string& path) const;
  // The stored colour for name, or a new one from palette (then stored).
  const std::string& color(std::string_view name, Palette& palette);

 private:
  std::map<std::string, std::string, std::less<>> colors_;
};

}  // namespace pyfold
