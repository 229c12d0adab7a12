#include "pyfold/render/svg.hpp"

#include "pyfold/render/python_labels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <fstream>
#include <map>
#include <stdexcept>

#include "flamegraph_assets.hpp"  // generated: kFlamegraphJs, kFlamegraphCss
#include "pyfold/diagnostics.hpp"
#include "pyfold/folded.hpp"
#include "pyfold/text.hpp"

namespace pyfold {
namespace {

constexpr double kXPad = 10;    // left and right padding
constexpr double kFramePad = 1;  // vertical gap between frames

struct Placed {
  StackTree::NodeId node;
  double start;
  std::uint32_t depth;
  bool waker;  // below a "--" separator frame (the chain palette's waker frames)
};

struct MinWidth {
  double value;
  bool percent;
};

MinWidth parse_min_width(const std::string& text) {
  // flamegraph.pl's rule: ^([0-9.]+)%?$
  std::string number = text;
  bool percent = !number.empty() && number.back() == '%';
  if (percent) number.pop_back();
  if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos)
    throw std::invalid_argument("invalid --minwidth '" + text + "': expected pixels (0.1) or a percentage (0.5%)");
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value))
    throw std::invalid_argument("invalid --minwidth '" + text + "': expected pixels (0.1) or a percentage (0.5%)");
  return {value, percent};
}

// Characters that cannot break out of a CSS declaration inside CDATA.
std::string css_font(const std::string& font) {
  std::string out;
  for (char c : font)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == ',' || c == '-' || c == '_' || c == '.' ||
        c == '\'' || c == '"')
      out.push_back(c);
  return out.empty() ? "Verdana" : out;
}


std::string escaped(std::string_view text) {
  std::string out;
  append_xml_escaped(out, text);
  return out;
}

// flamegraph.pl strips a trailing annotation (_[k] kernel, _[w] waker, _[i] inline, _[j] jit) from labels.
// Output written with a raw pointer: reserve() room, write, commit(). Flushed to the sink when full.
class FrameBuffer {
 public:
  explicit FrameBuffer(OutputSink& out) : out_(out), data_(kSize) {}
  char* reserve(std::size_t n) {
    if (used_ + n > data_.size()) {
      flush();
      if (n > data_.size()) data_.resize(n);
    }
    return data_.data() + used_;
  }
  void commit(char* end) { used_ = static_cast<std::size_t>(end - data_.data()); }
  void append(std::string_view text) { commit(put(reserve(text.size()), text)); }
  void flush() {
    out_.write(std::string_view(data_.data(), used_));
    used_ = 0;
  }
  static char* put(char* w, std::string_view text) {
    std::memcpy(w, text.data(), text.size());
    return w + text.size();
  }

 private:
  static constexpr std::size_t kSize = 1 << 20;
  OutputSink& out_;
  std::vector<char> data_;
  std::size_t used_ = 0;
};

inline char* put(char* w, std::string_view text) { return FrameBuffer::put(w, text); }

std::string_view strip_annotation(std::string_view name) {
  if (name.size() >= 4 && name.substr(name.size() - 4, 2) == "_[" && name.back() == ']') {
    char k = name[name.size() - 2];
    if (k == 'k' || k == 'w' || k == 'i' || k == 'j') name.remove_suffix(4);
  }
  return name;
}

// XML comments may not contain "--" nor end with "-".
std::string comment_safe(const std::string& raw) {
  std::string text = sanitize_utf8(raw);
  std::string out;
  for (char c : text) {
    if (c == '-' && !out.empty() && out.back() == '-') out.push_back(' ');
    out.push_back(c);
  }
  if (!out.empty() && out.back() == '-') out.push_back(' ');
  return out;
}

struct NameAttributes {
  std::map<std::string, std::string> values;
};

std::map<std::string, NameAttributes, std::less<>> read_name_attributes(const std::string& path) {
  std::map<std::string, NameAttributes, std::less<>> result;
  if (path.empty()) return result;
  std::ifstream in(path);
  if (!in) throw IoError("cannot read --nameattr file " + path);
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::size_t tab = line.find('\t');
    if (tab == std::string::npos)
      throw InputError(path + ":" + std::to_string(number) + ": expected a function name, a tab, and name=value pairs");
    NameAttributes& attrs = result[line.substr(0, tab)];
    std::size_t pos = tab + 1;
    while (pos <= line.size()) {
      std::size_t next = line.find('\t', pos);
      if (next == std::string::npos) next = line.size();
      std::string pair = line.substr(pos, next - pos);
      std::size_t eq = pair.find('=');
      if (eq != std::string::npos) attrs.values[pair.substr(0, eq)] = pair.substr(eq + 1);
      pos = next + 1;
    }
  }
  return result;
}

std::string default_title(const SvgOptions& options) {
  if (!options.title.empty()) return options.title;
  if (options.flamechart) return "Flame Chart";
  return options.inverted ? "Icicle Graph" : "Flame Graph";
}

void write_header(std::string& svg, const SvgOptions& options, double image_height, double total) {
  std::string w = std::to_string(options.width);
  std::string h = perl_number(image_height);
  std::string bg_from, bg_to;
  background_colors(options.bgcolors, options.colors, bg_from, bg_to);
  svg += "<?xml version=\"1.0\" standalone=\"no\"?>\n"
         "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n";
  // fg: is inferno's namespace for the exact sample positions, so tools that read inferno's SVGs read ours.
  svg += "<svg version=\"1.1\" width=\"" + w + "\" height=\"" + h + "\" onload=\"init(evt)\" viewBox=\"0 0 " + w +
         " " + h +
         "\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
         "xmlns:fg=\"http://github.com/jonhoo/inferno\">\n";
  svg += "<!-- Flame graph stack visualization drawn by pyflame-svg (pyfold), after flamegraph.pl: "
         "https://github.com/brendangregg/FlameGraph -->\n";
  svg += "<!-- NOTES: " + comment_safe(options.notes) + " -->\n";
  svg += "<defs>\n\t<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\" >\n"
         "\t\t<stop stop-color=\"" + bg_from + "\" offset=\"5%\" />\n"
         "\t\t<stop stop-color=\"" + bg_to + "\" offset=\"95%\" />\n\t</linearGradient>\n</defs>\n";
  svg += "<style type=\"text/css\"><![CDATA[\n";
  svg += "text { font-family:" + css_font(options.font_type) + "; font-size:" + perl_number(options.font_size) +
         "px; fill:rgb(0,0,0); }\n";
  svg += "#title { font-size:" + perl_number(options.font_size + 5) + "px; }\n";
  svg += kFlamegraphCss;
  svg += "]]></style>\n<script type=\"text/ecmascript\"><![CDATA[\n";
  svg += "var fg_config = {\"nametype\":";
  append_script_json_string(svg, options.name_type);
  svg += ",\"fontsize\":" + perl_number(options.font_size) + ",\"fontwidth\":" + perl_number(options.font_width) +
         ",\"xpad\":" + perl_number(kXPad) + ",\"width\":" + w +
         ",\"inverted\":" + (options.inverted ? "true" : "false") + ",\"searchcolor\":";
  append_script_json_string(svg, options.search_color);
  svg += ",\"total\":" + perl_number(total) + ",\"countname\":";
  append_script_json_string(svg, options.count_name);
  svg += "};\n";
  svg += kFlamegraphJs;
  svg += "]]></script>\n";
}

void write_chrome(std::string& svg, const SvgOptions& options, double image_height) {
  double fs = options.font_size;
  double ypad2 = fs * 2 + 10;
  std::string center = fixed(options.width / 2, 2);  // flamegraph.pl: int($imagewidth / 2)
  std::string bottom = perl_number(image_height - ypad2 / 2);
  svg += "<rect x=\"0.0\" y=\"0\" width=\"" + fixed(options.width, 1) + "\" height=\"" +
         fixed(image_height, 1) + "\" fill=\"url(#background)\"  />\n";
  svg += "<text id=\"title\" x=\"" + center + "\" y=\"" + perl_number(fs * 2) + "\" >" +
         escaped(default_title(options)) + "</text>\n";
  if (!options.subtitle.empty())
    svg += "<text id=\"subtitle\" x=\"" + center + "\" y=\"" + perl_number(fs * 4) + "\" >" +
           escaped(options.subtitle) + "</text>\n";
  svg += "<text id=\"details\" x=\"" + fixed(kXPad, 2) + "\" y=\"" + bottom + "\" > </text>\n";
  svg += "<text id=\"unzoom\" x=\"" + fixed(kXPad, 2) + "\" y=\"" + perl_number(fs * 2) +
         "\" class=\"hide\">Reset Zoom</text>\n";
  svg += "<text id=\"search\" x=\"" + fixed(options.width - kXPad - 100, 2) + "\" y=\"" + perl_number(fs * 2) +
         "\" >Search</text>\n";
  svg += "<text id=\"ignorecase\" x=\"" + fixed(options.width - kXPad - 16, 2) + "\" y=\"" + perl_number(fs * 2) +
         "\" >ic</text>\n";
  svg += "<text id=\"matched\" x=\"" + fixed(options.width - kXPad - 100, 2) + "\" y=\"" + bottom + "\" > </text>\n";
}

}  // namespace

void validate(const SvgOptions& options) {
  parse_min_width(options.min_width);
  std::string from, to;
  if (!background_colors(options.bgcolors, options.colors, from, to))
    throw std::invalid_argument("unknown --bgcolors '" + options.bgcolors +
                                "': expected yellow, blue, green, grey or #rrggbb");
  if (options.width <= 2 * kXPad) throw std::invalid_argument("--width must be more than 20 pixels");
  if (options.frame_height <= 0) throw std::invalid_argument("--height must be positive");
  if (!(options.font_size > 0) || !(options.font_width > 0))
    throw std::invalid_argument("--fontsize and --fontwidth must be positive");
  if (!(options.factor > 0) || !std::isfinite(options.factor)) throw std::invalid_argument("--factor must be positive");
  if (!(options.total >= 0) || !std::isfinite(options.total))
    throw std::invalid_argument("--total must not be negative (0: the sum of the counts)");
  if (options.search_color.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789#(),.% ") !=
      std::string::npos)
    throw std::invalid_argument("invalid --search-color '" + options.search_color + "'");
  if (options.flamechart && options.sort == StackTree::Order::weight)
    throw std::invalid_argument("--sort weight cannot be used with --flamechart (a flame chart keeps time order)");
}

namespace {

// Where the frames go: the drawn frames in drawing order, and the graph's scale and size.
struct Layout {
  double time_max = 0;        // the width of the graph in counts (--total when larger than the counts' sum)
  double width_per_time = 0;  // pixels per count
  std::vector<Placed> kept;   // the frames drawn, the root first, each before its children
  std::uint32_t max_depth = 0;
  double image_height = 0, top = 0, ypad2 = 0;
};

// The total the graph is drawn against: the counts' sum, or a larger --total.
double graph_total(const StackTree& tree, const SvgOptions& options, std::vector<std::string>& warnings) {
  const double time = tree.total(StackTree::kRoot);
  if (options.total <= 0) return time;
  if (options.total >= time) return options.total;
  if (options.total / time > 0.02)
    warnings.push_back("specified --total " + perl_number(options.total) + " is less than the actual total " +
                       perl_number(time) + ", so it is ignored");
  return time;
}

// Which frames are drawn, where they start, and how deep they are. The walk is iterative: stacks may be deeper than
// the C++ call stack.
void place_frames(const StackTree& tree, StackTree::Order order, double min_time, Layout& layout) {
  StackTree::ChildIndex children = tree.child_index(order, min_time);
  std::vector<double> child_totals;
  std::vector<Placed> todo{{StackTree::kRoot, 0, 0, false}};
  while (!todo.empty()) {
    Placed p = todo.back();
    todo.pop_back();
    layout.kept.push_back(p);
    layout.max_depth = std::max(layout.max_depth, p.depth);
    auto [b, e] = children.children(p.node);
    double cursor = p.start;
    child_totals.clear();
    for (const auto* c = b; c != e; ++c) child_totals.push_back(tree.total(*c));  // each read once
    if (order == StackTree::Order::name) {
      // flamegraph.pl sorts whole lines, and "a 5" sorts before "a;b 3": a frame's self time is on its left.
      double child_sum = 0;
      for (double t : child_totals) child_sum += t;
      cursor += tree.total(p.node) - child_sum;
    }
    std::size_t mark = todo.size();
    for (const auto* c = b; c != e; ++c) {
      double total = child_totals[static_cast<std::size_t>(c - b)];
      double start = order == StackTree::Order::time ? tree.start(*c) : cursor;
      cursor += total;
      if (total < min_time) continue;
      todo.push_back({*c, start, p.depth + 1, p.waker || (p.node != StackTree::kRoot && tree.name(p.node) == "--")});
    }
    std::reverse(todo.begin() + static_cast<std::ptrdiff_t>(mark), todo.end());
  }
}

Layout lay_out(const StackTree& tree, const SvgOptions& options, std::vector<std::string>& warnings) {
  Layout layout;
  layout.time_max = graph_total(tree, options, warnings);
  layout.width_per_time = (options.width - 2 * kXPad) / layout.time_max;
  MinWidth min_width = parse_min_width(options.min_width);
  const double min_time =
      min_width.percent ? layout.time_max * min_width.value / 100 : min_width.value / layout.width_per_time;
  place_frames(tree, options.flamechart ? StackTree::Order::time : options.sort, min_time, layout);
  const double fs = options.font_size;
  const double ypad1 = fs * 3, ypad3 = fs * 2;
  layout.ypad2 = fs * 2 + 10;
  layout.image_height = (layout.max_depth + 1) * options.frame_height + ypad1 + layout.ypad2;
  if (!options.subtitle.empty()) layout.image_height += ypad3;
  layout.top = ypad1 + (options.subtitle.empty() ? 0 : ypad3);
  return layout;
}

// A frame's rectangle, in pixels, and its span in counts.
struct FrameBox {
  double stime, etime, x1, x2, y1, y2;
};

FrameBox frame_box(const StackTree& tree, const SvgOptions& options, const Layout& layout, const Placed& p) {
  FrameBox box;
  box.stime = p.start;
  box.etime = p.node == StackTree::kRoot ? layout.time_max : p.start + tree.total(p.node);
  box.x1 = kXPad + box.stime * layout.width_per_time;
  box.x2 = kXPad + box.etime * layout.width_per_time;
  const double fh = options.frame_height;
  if (!options.inverted) {
    box.y1 = layout.image_height - layout.ypad2 - (p.depth + 1) * fh + kFramePad;
    box.y2 = layout.image_height - layout.ypad2 - p.depth * fh;
  } else {
    box.y1 = layout.top + p.depth * fh;
    box.y2 = layout.top + (p.depth + 1) * fh - kFramePad;
  }
  return box;
}

// How each frame name looks (title text, label text, colour), computed once per name however many frames share
// it, and the colour of each frame.
class NameLooks {
 public:
  struct Look {
    std::string_view name;
    std::string title_name, label_text, color;
    std::string short_label;  // --colors python: the escaped short label when it differs from the name, for the script
    std::size_t label_length = 0;
  };

  NameLooks(const StackTree& tree, const SvgOptions& options, const std::vector<Placed>& kept)
      : tree_(tree),
        options_(options),
        palette_(options.colors, options.color_seed, options.deterministic ? 0x5eed : std::random_device()()),
        slot_(tree.name_count(), -1),
        python_labels_(options.colors == PaletteKind::python) {
    if (options.consistent_palette) palette_map_.load(options.palette_file);
    if (tree.differential())
      for (StackTree::NodeId n = 0; n < tree.size(); ++n)
        if (tree.has_delta(n)) max_delta_ = std::max(max_delta_, std::fabs(tree.delta(n)));
    looks_.reserve(std::min<std::size_t>(kept.size() + 1, tree.name_count() + 1));
    // --colors python: labels relative to each file's sys.path entry (python_labels.hpp); the title keeps the text.
    if (python_labels_)
      for (const Placed& p : kept)
        if (p.node != StackTree::kRoot) short_labels_.add(tree.name(p.node));
  }

  const Look& look(const Placed& p) {
    const bool root = p.node == StackTree::kRoot;
    if (root) return make_look(root, "all");
    std::int32_t& slot = slot_[tree_.name_id(p.node)];
    if (slot >= 0) return looks_[static_cast<std::size_t>(slot)];
    slot = static_cast<std::int32_t>(looks_.size());
    return make_look(root, tree_.name(p.node));
  }

  // The frame's colour: a differential colour, the name's, or (random colours, the chain palette) the frame's own.
  std::string_view color(const Placed& p, const Look& look) {
    const bool root = p.node == StackTree::kRoot;
    bool separator = !root && (look.name == "--" || look.name == "-");
    if (tree_.has_delta(p.node) && !separator) {
      buffer_ = differential_color(tree_.delta(p.node), max_delta_, options_.negate);
      return buffer_;
    }
    if (!look.color.empty()) return look.color;
    std::string_view key = root ? std::string_view() : look.name;
    buffer_ = options_.consistent_palette ? palette_map_.color(key, palette_) : palette_.color(key, p.waker);
    return buffer_;
  }

  void save_palette() {
    if (options_.consistent_palette) palette_map_.save(options_.palette_file);
  }

 private:
  Look& make_look(bool root, std::string_view raw_name) {
    Look& look = looks_.emplace_back();
    look.name = raw_name;
    append_xml_escaped(look.title_name, strip_annotation(raw_name));
    look.label_text = sanitize_utf8(strip_annotation(raw_name));
    if (python_labels_ && !root) {
      std::string shorter = sanitize_utf8(short_labels_.label(strip_annotation(raw_name)));
      if (shorter != look.label_text) {
        append_xml_escaped(look.short_label, shorter);
        look.label_text = std::move(shorter);
      }
    }
    look.label_length = utf8_length(look.label_text);
    if (raw_name == "--" && !root) {
      look.color = "rgb(160,160,160)";
    } else if (raw_name == "-" && !root) {
      look.color = "rgb(200,200,200)";
    } else if (options_.color_seed != ColorSeed::random && options_.colors != PaletteKind::chain) {
      std::string_view key = root ? std::string_view() : raw_name;  // flamegraph.pl colours the root as ""
      look.color = options_.consistent_palette ? palette_map_.color(key, palette_) : palette_.color(key);
    }
    return look;
  }

  const StackTree& tree_;
  const SvgOptions& options_;
  Palette palette_;
  PaletteMap palette_map_;
  double max_delta_ = 1;
  std::vector<std::int32_t> slot_;  // name id -> index in looks_ (small, so lookups stay in cache)
  std::vector<Look> looks_;
  const bool python_labels_;
  PythonLabels short_labels_;
  std::string buffer_;
};

// Title: "name (1,234 samples, 5.67%)" with flamegraph.pl's rounding (the percentage of the rounded count).
void append_title(std::string& title, const StackTree& tree, const SvgOptions& options, const Placed& p,
                  const NameLooks::Look& look, const FrameBox& box, double scale, std::string_view count_name) {
  char digits[48];
  double samples = round_as_printed((box.etime - box.stime) * options.factor, 0);
  std::string_view count(digits, static_cast<std::size_t>(write_fixed(digits, samples, 0) - digits));
  if (p.node == StackTree::kRoot) {
    title += "all (";
    append_with_thousands(title, count);
    title += ' ';
    title += count_name;
    title += ", 100%)";
    return;
  }
  title += look.title_name;
  title += " (";
  append_with_thousands(title, count);
  title += ' ';
  title += count_name;
  title += ", ";
  append_fixed(title, 100 * samples / scale, 2);
  title += '%';
  if (tree.has_delta(p.node)) {
    double d = options.negate ? 0.0 - tree.delta(p.node) : tree.delta(p.node);  // no "-0.00%"
    title += d > 0 ? "; +" : "; ";
    append_fixed(title, 100 * d / scale, 2);
    title += '%';
  }
  title += ')';
}

// Label: as many characters as fit, the last two replaced by ".." when cut (code points, not bytes).
void append_label(std::string& label, const SvgOptions& options, const NameLooks::Look& look, const FrameBox& box) {
  long chars = static_cast<long>((box.x2 - box.x1) / (options.font_size * options.font_width));
  if (chars < 3) return;
  if (static_cast<std::size_t>(chars) < look.label_length) {
    std::string_view text = look.label_text;
    append_xml_escaped(label, text.substr(0, utf8_prefix_bytes(text, static_cast<std::size_t>(chars) - 2)));
    label += "..";
  } else {
    append_xml_escaped(label, look.label_text);
  }
}

// The element a frame sits in: <g>, or with --nameattr its attributes, a link (<a>), and a title of its own.
// Returns the closing tag.
std::string open_frame(FrameBuffer& buffer, const NameAttributes* attrs, std::string& title) {
  if (attrs == nullptr) {
    buffer.append("<g>\n");
    return "</g>\n";
  }
  auto get = [&](const char* key) {
    auto it = attrs->values.find(key);
    return it == attrs->values.end() ? std::string() : it->second;
  };
  std::string extra, close = "</g>\n";
  for (const char* key : {"id", "class"})
    if (!get(key).empty()) extra += std::string(" ") + key + "=\"" + escaped(get(key)) + "\"";
  if (!get("href").empty()) {
    std::string target = get("target").empty() ? "_top" : get("target");
    buffer.append("<a xlink:href=\"" + escaped(get("href")) + "\" target=\"" + escaped(target) + "\"" + extra + ">\n");
    close = "</a>\n";
  } else {
    buffer.append("<g" + extra + ">\n");
  }
  if (!get("title").empty()) title = escaped(get("title"));
  return close;
}

// The frame's title, rectangle and label, written straight into the buffer: this runs once per drawn frame.
void write_frame(FrameBuffer& buffer, std::string_view title, std::string_view label, std::string_view color,
                 std::string_view short_label, const FrameBox& box) {
  // flamegraph.pl prints x1 and x2 with one decimal and the width as the difference of the printed values.
  double rx1 = round_as_printed(box.x1, 1), rx2 = round_as_printed(box.x2, 1);
  // 118 bytes of markup and at most 9 numbers of 40 characters.
  char* w = buffer.reserve(title.size() + label.size() + color.size() + short_label.size() + 512);
  w = put(w, "<title>");
  w = put(w, title);
  w = put(w, "</title><rect x=\"");
  w = write_fixed(w, rx1, 1);
  w = put(w, "\" y=\"");
  w = write_perl_number(w, box.y1);
  w = put(w, "\" width=\"");
  w = write_fixed(w, rx2 - rx1, 1);
  w = put(w, "\" height=\"");
  w = write_fixed(w, box.y2 - box.y1, 1);
  w = put(w, "\" fill=\"");
  w = put(w, color);
  w = put(w, "\" rx=\"2\" ry=\"2\" fg:x=\"");
  w = write_perl_number(w, box.stime);
  w = put(w, "\" fg:w=\"");
  w = write_perl_number(w, box.etime - box.stime);
  if (!short_label.empty()) {
    w = put(w, "\" fg:label=\"");
    w = put(w, short_label);
  }
  w = put(w, "\" />\n<text x=\"");
  w = write_fixed(w, box.x1 + 3, 2);
  w = put(w, "\" y=\"");
  w = write_perl_number(w, 3 + (box.y1 + box.y2) / 2);
  w = put(w, "\" >");
  w = put(w, label);
  w = put(w, "</text>\n");
  buffer.commit(w);
}

}  // namespace

void render_svg(const StackTree& tree, const SvgOptions& options, OutputSink& out,
                std::vector<std::string>& warnings) {
  validate(options);
  const Layout layout = lay_out(tree, options, warnings);
  std::string svg;
  svg.reserve(1 << 20);
  write_header(svg, options, layout.image_height, layout.time_max);
  write_chrome(svg, options, layout.image_height);
  NameLooks looks(tree, options, layout.kept);
  auto name_attributes = read_name_attributes(options.nameattr_file);
  const double scale = layout.time_max * options.factor;
  const std::string count_name = escaped(options.count_name);
  svg += "<g id=\"frames\" total_samples=\"" + perl_number(layout.time_max) + "\">\n";
  out.write(svg);

  FrameBuffer frame_buffer(out);
  std::string title, label;
  for (const Placed& p : layout.kept) {
    const NameLooks::Look& look = looks.look(p);
    const FrameBox box = frame_box(tree, options, layout, p);
    title.clear();
    append_title(title, tree, options, p, look, box, scale, count_name);
    std::string_view color = looks.color(p, look);
    label.clear();
    append_label(label, options, look, box);
    const NameAttributes* attrs = nullptr;
    if (!name_attributes.empty() && p.node != StackTree::kRoot) {
      auto it = name_attributes.find(look.name);
      if (it != name_attributes.end()) attrs = &it->second;
    }
    std::string close = open_frame(frame_buffer, attrs, title);
    write_frame(frame_buffer, title, label, color, look.short_label, box);
    frame_buffer.append(close);
  }
  frame_buffer.append("</g>\n</svg>\n");
  frame_buffer.flush();
  looks.save_palette();
}

void render_error_svg(const SvgOptions& options, const std::string& message, OutputSink& out) {
  double image_height = options.font_size * 5;
  std::string w = std::to_string(options.width);
  std::string h = perl_number(image_height);
  std::string svg =
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
      "<svg version=\"1.1\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
      "\" xmlns=\"http://www.w3.org/2000/svg\">\n"
      "<text x=\"" + std::to_string(options.width / 2) + "\" y=\"" + perl_number(options.font_size * 2) +
      "\" text-anchor=\"middle\" style=\"font-family:" + css_font(options.font_type) + "; font-size:" +
      perl_number(options.font_size) + "px\">ERROR: " + escaped(message) + "</text>\n</svg>\n";
  out.write(svg);
}

SvgReport flame_svg(const SvgOptions& options, const std::vector<std::string>& inputs, const std::string& output) {
  validate(options);
  SvgReport report;
  StackTree tree(options.flamechart ? StackTree::Merge::adjacent : StackTree::Merge::same_path);
  InvalidLineLog invalid(options.strict);
  std::vector<std::string> sources = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  for (const std::string& path : sources) {
    auto source = InputSource::open(path);
    report.stacks += read_folded(*source, tree, invalid, options.reverse);
  }
  tree.finish();
  report.invalid_lines = invalid.count();
  if (invalid.count() > 0) report.warnings.push_back(invalid.summary());

  auto out = OutputSink::open(output);
  if (tree.total_count() <= 0) {
    report.empty = true;
    render_error_svg(options, "No valid input provided to pyflame-svg.", *out);
  } else {
    render_svg(tree, options, *out, report.warnings);
  }
  out->commit();
  return report;
}

}  // namespace pyfold
