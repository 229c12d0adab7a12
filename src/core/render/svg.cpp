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

// A JSON string literal that is also safe inside a <script> CDATA section.
void append_json_string(std::string& out, const std::string& raw) {
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
  append_json_string(svg, options.name_type);
  svg += ",\"fontsize\":" + perl_number(options.font_size) + ",\"fontwidth\":" + perl_number(options.font_width) +
         ",\"xpad\":" + perl_number(kXPad) + ",\"width\":" + w +
         ",\"inverted\":" + (options.inverted ? "true" : "false") + ",\"searchcolor\":";
  append_json_string(svg, options.search_color);
  svg += ",\"total\":" + perl_number(total) + ",\"countname\":";
  append_json_string(svg, options.count_name);
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

void render_svg(const StackTree& tree, const SvgOptions& options, OutputSink& out,
                std::vector<std::string>& warnings) {
  validate(options);
  const double time = tree.total(StackTree::kRoot);
  double time_max = time;
  if (options.total > 0) {
    if (options.total < time) {
      if (options.total / time > 0.02)
        warnings.push_back("specified --total " + perl_number(options.total) + " is less than the actual total " +
                           perl_number(time) + ", so it is ignored");
    } else {
      time_max = options.total;
    }
  }
  const double width_per_time = (options.width - 2 * kXPad) / time_max;
  MinWidth min_width = parse_min_width(options.min_width);
  const double min_time =
      min_width.percent ? time_max * min_width.value / 100 : min_width.value / width_per_time;

  // Which frames are drawn, where they start, and how deep they are. The walk is iterative: stacks may be
  // deeper than the C++ call stack.
  StackTree::Order order = options.flamechart ? StackTree::Order::time : options.sort;
  StackTree::ChildIndex children = tree.child_index(order, min_time);
  std::vector<Placed> kept;
  std::vector<double> child_totals;
  std::vector<Placed> todo{{StackTree::kRoot, 0, 0, false}};
  std::uint32_t max_depth = 0;
  while (!todo.empty()) {
    Placed p = todo.back();
    todo.pop_back();
    kept.push_back(p);
    max_depth = std::max(max_depth, p.depth);
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

  const double fs = options.font_size;
  const double fh = options.frame_height;
  const double ypad1 = fs * 3, ypad2 = fs * 2 + 10, ypad3 = fs * 2;
  double image_height = (max_depth + 1) * fh + ypad1 + ypad2;
  if (!options.subtitle.empty()) image_height += ypad3;
  const double top = ypad1 + (options.subtitle.empty() ? 0 : ypad3);

  std::string svg;
  svg.reserve(1 << 20);
  write_header(svg, options, image_height, time_max);
  write_chrome(svg, options, image_height);

  Palette palette(options.colors, options.color_seed, options.deterministic ? 0x5eed : std::random_device()());
  PaletteMap palette_map;
  if (options.consistent_palette) palette_map.load(options.palette_file);
  auto name_attributes = read_name_attributes(options.nameattr_file);
  double max_delta = 1;
  if (tree.differential())
    for (StackTree::NodeId n = 0; n < tree.size(); ++n)
      if (tree.has_delta(n)) max_delta = std::max(max_delta, std::fabs(tree.delta(n)));

  // Per name, computed once however many frames share it: the escaped title text, the repaired label text with
  // its length in code points, and the colour.
  struct NameCache {
    std::string_view name;
    std::string title_name, label_text, color;
    std::string short_label;  // --colors python: the escaped short label when it differs from the name, for the script
    std::size_t label_length = 0;
  };
  std::vector<std::int32_t> name_cache_slot(tree.name_count(), -1);  // small, so lookups stay in cache
  std::vector<NameCache> name_cache;
  name_cache.reserve(std::min<std::size_t>(kept.size() + 1, tree.name_count() + 1));
  // --colors python: labels relative to each file's sys.path entry (python_labels.hpp); the title keeps the text.
  const bool python_labels = options.colors == PaletteKind::python;
  PythonLabels short_labels;
  if (python_labels)
    for (const Placed& p : kept)
      if (p.node != StackTree::kRoot) short_labels.add(tree.name(p.node));
  const double scale = time_max * options.factor;
  const std::string count_name = escaped(options.count_name);
  svg += "<g id=\"frames\" total_samples=\"" + perl_number(time_max) + "\">\n";
  out.write(svg);
  FrameBuffer frame_buffer(out);
  std::string title, label, digits, color_buffer;
  for (const Placed& p : kept) {
    bool root = p.node == StackTree::kRoot;
    std::int32_t& slot = name_cache_slot[root ? 0 : tree.name_id(p.node)];
    bool fresh = root || slot < 0;
    if (fresh) {
      if (!root) slot = static_cast<std::int32_t>(name_cache.size());
      name_cache.emplace_back();
      name_cache.back().name = root ? std::string_view("all") : tree.name(p.node);
    }
    NameCache& cached = root ? name_cache.back() : name_cache[static_cast<std::size_t>(slot)];
    std::string_view raw_name = cached.name;
    double stime = p.start;
    double etime = root ? time_max : p.start + tree.total(p.node);
    double x1 = kXPad + stime * width_per_time;
    double x2 = kXPad + etime * width_per_time;
    double y1, y2;
    if (!options.inverted) {
      y1 = image_height - ypad2 - (p.depth + 1) * fh + kFramePad;
      y2 = image_height - ypad2 - p.depth * fh;
    } else {
      y1 = top + p.depth * fh;
      y2 = top + (p.depth + 1) * fh - kFramePad;
    }

    if (fresh) {
      append_xml_escaped(cached.title_name, strip_annotation(raw_name));
      cached.label_text = sanitize_utf8(strip_annotation(raw_name));
      if (python_labels && !root) {
        std::string shorter = sanitize_utf8(short_labels.label(strip_annotation(raw_name)));
        if (shorter != cached.label_text) {
          append_xml_escaped(cached.short_label, shorter);
          cached.label_text = std::move(shorter);
        }
      }
      cached.label_length = utf8_length(cached.label_text);
      cached.color.clear();
      if (raw_name == "--" && !root) {
        cached.color = "rgb(160,160,160)";
      } else if (raw_name == "-" && !root) {
        cached.color = "rgb(200,200,200)";
      } else if (options.color_seed != ColorSeed::random && options.colors != PaletteKind::chain) {
        std::string_view key = root ? std::string_view() : raw_name;  // flamegraph.pl colours the root as ""
        cached.color = options.consistent_palette ? palette_map.color(key, palette) : palette.color(key);
      }
    }

    // Title: "name (1,234 samples, 5.67%)" with flamegraph.pl's rounding (the percentage of the rounded count).
    title.clear();
    double samples = round_as_printed((etime - stime) * options.factor, 0);
    digits.clear();
    append_fixed(digits, samples, 0);
    if (root) {
      title += "all (";
      append_with_thousands(title, digits);
      title += ' ';
      title += count_name;
      title += ", 100%)";
    } else {
      title += cached.title_name;
      title += " (";
      append_with_thousands(title, digits);
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

    std::string_view color = cached.color;
    bool separator = !root && (raw_name == "--" || raw_name == "-");
    if (tree.has_delta(p.node) && !separator) {
      color_buffer = differential_color(tree.delta(p.node), max_delta, options.negate);
      color = color_buffer;
    } else if (color.empty()) {
      std::string_view key = root ? std::string_view() : raw_name;
      color_buffer = options.consistent_palette ? palette_map.color(key, palette) : palette.color(key, p.waker);
      color = color_buffer;
    }

    // Label: as many characters as fit, the last two replaced by ".." when cut (code points, not bytes).
    label.clear();
    long chars = static_cast<long>((x2 - x1) / (fs * options.font_width));
    if (chars >= 3) {
      if (static_cast<std::size_t>(chars) < cached.label_length) {
        std::string_view text = cached.label_text;
        append_xml_escaped(label, text.substr(0, utf8_prefix_bytes(text, static_cast<std::size_t>(chars) - 2)));
        label += "..";
      } else {
        append_xml_escaped(label, cached.label_text);
      }
    }

    // flamegraph.pl prints x1 and x2 with one decimal and the width as the difference of the printed values.
    double rx1 = round_as_printed(x1, 1), rx2 = round_as_printed(x2, 1);

    const NameAttributes* attrs = nullptr;
    if (!name_attributes.empty() && !root) {
      auto it = name_attributes.find(raw_name);
      if (it != name_attributes.end()) attrs = &it->second;
    }
    std::string close = "</g>\n";
    if (attrs != nullptr) {
      auto get = [&](const char* key) {
        auto it = attrs->values.find(key);
        return it == attrs->values.end() ? std::string() : it->second;
      };
      std::string extra;
      for (const char* key : {"id", "class"})
        if (!get(key).empty()) extra += std::string(" ") + key + "=\"" + escaped(get(key)) + "\"";
      if (!get("href").empty()) {
        std::string target = get("target").empty() ? "_top" : get("target");
        frame_buffer.append("<a xlink:href=\"" + escaped(get("href")) + "\" target=\"" + escaped(target) + "\"" + extra + ">\n");
        close = "</a>\n";
      } else {
        frame_buffer.append("<g" + extra + ">\n");
      }
      if (!get("title").empty()) title = escaped(get("title"));
    } else {
      frame_buffer.append("<g>\n");
    }
    // The frame, written straight into the buffer: this loop runs once per drawn frame.
    // 118 bytes of markup and at most 9 numbers of 40 characters.
    char* w = frame_buffer.reserve(title.size() + label.size() + color.size() + cached.short_label.size() + 512);
    w = put(w, "<title>");
    w = put(w, title);
    w = put(w, "</title><rect x=\"");
    w = write_fixed(w, rx1, 1);
    w = put(w, "\" y=\"");
    w = write_perl_number(w, y1);
    w = put(w, "\" width=\"");
    w = write_fixed(w, rx2 - rx1, 1);
    w = put(w, "\" height=\"");
    w = write_fixed(w, y2 - y1, 1);
    w = put(w, "\" fill=\"");
    w = put(w, color);
    w = put(w, "\" rx=\"2\" ry=\"2\" fg:x=\"");
    w = write_perl_number(w, stime);
    w = put(w, "\" fg:w=\"");
    w = write_perl_number(w, etime - stime);
    if (!cached.short_label.empty()) {
      w = put(w, "\" fg:label=\"");
      w = put(w, cached.short_label);
    }
    w = put(w, "\" />\n<text x=\"");
    w = write_fixed(w, x1 + 3, 2);
    w = put(w, "\" y=\"");
    w = write_perl_number(w, 3 + (y1 + y2) / 2);
    w = put(w, "\" >");
    w = put(w, label);
    w = put(w, "</text>\n");
    frame_buffer.commit(w);
    frame_buffer.append(close);
  }
  frame_buffer.append("</g>\n</svg>\n");
  frame_buffer.flush();
  if (options.consistent_palette) palette_map.save(options.palette_file);
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
