#include "pyfold/render/html_report_data.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "pyfold/render/speedscope.hpp"  // split_frame: the one reader of `func (file:line)`
#include "pyfold/text.hpp"

namespace pyfold {
namespace {

void add_counts(LineCounts& to, double self, double self_delta) {
  to.self += self;
  to.self_delta += self_delta;
}

// A stack holding the same function (or line, or file) several times counts once toward its total: only the
// outermost occurrence on a path adds the node's total, which covers every stack through it exactly once.
class OnPath {
 public:
  explicit OnPath(std::size_t n) : depth_(n, 0) {}
  bool enter(std::size_t key) { return depth_[key]++ == 0; }
  void leave(std::size_t key) { --depth_[key]; }

 private:
  std::vector<std::uint32_t> depth_;
};

}  // namespace

namespace {

constexpr std::uint32_t kNoLine = 0xffffffffu;

// What build_report_data's steps share: each frame's function, file and line key, each interned once.
struct FrameTables {
  struct LineKey {
    std::int32_t file;
    std::uint64_t line;
  };
  std::vector<LineKey> line_keys;
  std::vector<LineCounts> line_counts;
  std::vector<std::uint32_t> frame_line_key;  // kNoLine: the frame has no line
  std::vector<bool> frame_seen;
};

// Frames -> functions, files and line keys. Names interned in the order their nodes were made, so the tables follow
// the tree's order.
FrameTables intern_frames(const StackTree& tree, ReportData& data) {
  FrameTables t;
  std::unordered_map<std::string, std::uint32_t> file_index, function_index;
  std::map<std::pair<std::int32_t, std::uint64_t>, std::uint32_t> line_index;
  t.frame_line_key.assign(tree.name_count(), kNoLine);
  data.frames.resize(tree.name_count(), ReportData::Frame{0, 0});
  t.frame_seen.assign(tree.name_count(), false);
  for (StackTree::NodeId node = 1; node < tree.size(); ++node) {
    std::uint32_t id = tree.name_id(node);
    if (t.frame_seen[id]) continue;
    t.frame_seen[id] = true;
    FrameParts fields = split_frame(tree.name(node));
    std::int32_t file = -1;
    if (!fields.file.empty()) {
      auto [it, added] = file_index.emplace(std::string(fields.file), static_cast<std::uint32_t>(data.files.size()));
      if (added) data.files.push_back(ReportFile{std::string(fields.file), {}, {}});
      file = static_cast<std::int32_t>(it->second);
    }
    std::string key(fields.function);
    key.push_back('\0');
    key += std::to_string(file);
    auto [fn, added] = function_index.emplace(std::move(key), static_cast<std::uint32_t>(data.functions.size()));
    if (added) data.functions.push_back(ReportFunction{std::string(fields.function), file, {}, 0});
    data.frames[id] = ReportData::Frame{fn->second, fields.line};
    if (file >= 0 && fields.line > 0) {
      auto [ln, new_line] =
          line_index.emplace(std::make_pair(file, fields.line), static_cast<std::uint32_t>(t.line_keys.size()));
      if (new_line) {
        t.line_keys.push_back(FrameTables::LineKey{file, fields.line});
        t.line_counts.emplace_back();
      }
      t.frame_line_key[id] = ln->second;
    }
  }
  return t;
}

// Each node's subtree delta (differential input): a parent always comes before its children.
std::vector<double> subtree_deltas(const StackTree& tree) {
  const std::size_t nodes = tree.size();
  std::vector<double> subtree_delta(nodes, 0);
  for (StackTree::NodeId node = static_cast<StackTree::NodeId>(nodes - 1); node > 0; --node) {
    subtree_delta[node] += tree.delta(node);
    subtree_delta[tree.parent(node)] += subtree_delta[node];
  }
  return subtree_delta;
}

// The preorder, made once: the totals below and the page's tree then read memory in order. Each node's children
// are found through a table of where its range starts in the child index (a lookup per node, not a search).
void make_preorder(const StackTree& tree, const std::vector<double>& subtree_delta, ReportData& data) {
  const std::size_t nodes = tree.size();
  StackTree::ChildIndex children = tree.child_index(StackTree::Order::name);
  constexpr std::uint32_t kNoChildren = 0xffffffffu;
  std::vector<std::uint32_t> range_of(nodes, kNoChildren);
  for (std::uint32_t i = 0; i < children.parents.size(); ++i) range_of[children.parents[i]] = i;
  auto kids_of = [&](StackTree::NodeId node) -> std::pair<const StackTree::NodeId*, const StackTree::NodeId*> {
    std::uint32_t i = range_of[node];
    if (i == kNoChildren) return {nullptr, nullptr};
    return {children.nodes.data() + children.first[i], children.nodes.data() + children.first[i + 1]};
  };
  data.preorder.reserve(nodes > 0 ? nodes - 1 : 0);
  auto root = kids_of(StackTree::kRoot);
  data.root_children = static_cast<std::uint32_t>(root.second - root.first);
  std::vector<StackTree::NodeId> pending;  // last child first
  for (const StackTree::NodeId* c = root.second; c != root.first;) pending.push_back(*--c);
  while (!pending.empty()) {
    StackTree::NodeId node = pending.back();
    pending.pop_back();
    auto kids = kids_of(node);
    data.preorder.push_back(
        ReportData::Node{tree.name_id(node), static_cast<std::uint32_t>(kids.second - kids.first), tree.total(node)});
    if (data.differential) data.deltas.push_back(ReportData::Delta{tree.delta(node), subtree_delta[node]});
    for (const StackTree::NodeId* c = kids.second; c != kids.first;) pending.push_back(*--c);
  }
}

// Totals, each stack once per function, line and file: the path from the root is kept as a stack. A node's self
// is its total less its children's: the total is added as self, and each child takes its own total back off.
void add_totals(ReportData& data, FrameTables& t) {
  OnPath function_path(data.functions.size()), line_path(t.line_keys.size()), file_path(data.files.size());
  struct OnStack {
    std::uint32_t function, line;
    std::int32_t file;
    std::uint32_t children_left;
  };
  std::vector<OnStack> path;
  for (std::size_t k = 0; k < data.preorder.size(); ++k) {
    const ReportData::Node& entry = data.preorder[k];
    while (!path.empty() && path.back().children_left == 0) {
      const OnStack& gone = path.back();
      function_path.leave(gone.function);
      if (gone.line != kNoLine) line_path.leave(gone.line);
      if (gone.file >= 0) file_path.leave(static_cast<std::size_t>(gone.file));
      path.pop_back();
    }
    const double total = entry.total;
    if (!path.empty()) {
      OnStack& up = path.back();
      --up.children_left;
      data.functions[up.function].counts.self -= total;
      if (up.line != kNoLine) t.line_counts[up.line].self -= total;
      if (up.file >= 0) data.files[static_cast<std::size_t>(up.file)].counts.self -= total;
    }
    const ReportData::Frame& frame = data.frames[entry.name];
    ReportFunction& function = data.functions[frame.function];
    const double self_delta = data.differential ? data.deltas[k].self : 0;
    const double subtree = data.differential ? data.deltas[k].subtree : 0;
    std::uint32_t line = t.frame_line_key[entry.name];
    path.push_back(OnStack{frame.function, line, function.file, entry.children});
    add_counts(function.counts, total, self_delta);
    if (function_path.enter(frame.function)) {
      function.counts.total += total;
      function.counts.total_delta += subtree;
    }
    if (line != kNoLine) {
      add_counts(t.line_counts[line], total, self_delta);
      if (line_path.enter(line)) {
        t.line_counts[line].total += total;
        t.line_counts[line].total_delta += subtree;
      }
    }
    if (function.file >= 0) {
      ReportFile& file = data.files[static_cast<std::size_t>(function.file)];
      add_counts(file.counts, total, self_delta);
      if (file_path.enter(static_cast<std::size_t>(function.file))) {
        file.counts.total += total;
        file.counts.total_delta += subtree;
      }
    }
  }
}

// Each line's counts into its file, and each function's hottest line: of the lines its frames stand at, the one
// with the largest total.
void store_lines(ReportData& data, const FrameTables& t) {
  for (std::size_t i = 0; i < t.line_keys.size(); ++i)
    data.files[static_cast<std::size_t>(t.line_keys[i].file)].lines[t.line_keys[i].line] = t.line_counts[i];
  for (std::uint32_t id = 0; id < data.frames.size(); ++id) {
    if (!t.frame_seen[id] || t.frame_line_key[id] == kNoLine) continue;
    ReportFunction& function = data.functions[data.frames[id].function];
    const LineCounts& candidate = t.line_counts[t.frame_line_key[id]];
    std::uint64_t line = data.frames[id].line;
    if (function.hottest_line == 0) {
      function.hottest_line = line;
      continue;
    }
    const LineCounts& best = data.files[static_cast<std::size_t>(function.file)].lines[function.hottest_line];
    if (candidate.total > best.total || (candidate.total == best.total && line < function.hottest_line))
      function.hottest_line = line;
  }
}

}  // namespace

ReportData build_report_data(const StackTree& tree) {
  ReportData data;
  data.total = tree.total_count();
  data.differential = tree.differential();
  FrameTables tables = intern_frames(tree, data);
  std::vector<double> subtree_delta;
  if (data.differential) subtree_delta = subtree_deltas(tree);
  make_preorder(tree, subtree_delta, data);
  add_totals(data, tables);
  store_lines(data, tables);
  return data;
}

std::vector<std::uint32_t> functions_by_self(const ReportData& data) {
  std::vector<std::uint32_t> order(data.functions.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const ReportFunction& x = data.functions[a];
    const ReportFunction& y = data.functions[b];
    if (x.counts.self != y.counts.self) return x.counts.self > y.counts.self;
    if (x.counts.total != y.counts.total) return x.counts.total > y.counts.total;
    return x.name < y.name;
  });
  return order;
}

namespace {

template <typename Writer>
void write_count(Writer& w, double value) {
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    w.Int64(static_cast<std::int64_t>(value));
  } else {
    w.Double(value);
  }
}

template <typename Writer>
void write_counts(Writer& w, const LineCounts& counts, bool differential) {
  w.Key("self");
  write_count(w, counts.self);
  w.Key("total");
  write_count(w, counts.total);
  if (differential) {
    w.Key("self_delta");
    write_count(w, counts.self_delta);
    w.Key("total_delta");
    write_count(w, counts.total_delta);
  }
}

template <typename Writer>
void write_json(const ReportData& data, Writer& w) {
  w.StartObject();
  w.Key("total");
  write_count(w, data.total);
  w.Key("differential");
  w.Bool(data.differential);
  w.Key("files");
  w.StartObject();
  for (const ReportFile& file : data.files) {
    std::string path = sanitize_utf8(file.path);
    w.Key(path.c_str(), static_cast<rapidjson::SizeType>(path.size()));
    w.StartObject();
    write_counts(w, file.counts, data.differential);
    w.Key("lines");
    w.StartObject();
    for (const auto& [number, counts] : file.lines) {
      std::string key = std::to_string(number);
      w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
      w.StartObject();
      write_counts(w, counts, data.differential);
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  w.Key("functions");
  w.StartArray();
  for (std::uint32_t index : functions_by_self(data)) {
    const ReportFunction& function = data.functions[index];
    w.StartObject();
    std::string name = sanitize_utf8(function.name);
    w.Key("name");
    w.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.Key("file");
    if (function.file >= 0) {
      std::string path = sanitize_utf8(data.files[static_cast<std::size_t>(function.file)].path);
      w.String(path.c_str(), static_cast<rapidjson::SizeType>(path.size()));
    } else {
      w.Null();
    }
    w.Key("line");
    w.Uint64(function.hottest_line);
    write_counts(w, function.counts, data.differential);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

void write_report_json(const ReportData& data, OutputSink& out, bool pretty) {
  rapidjson::StringBuffer buffer;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    writer.SetIndent(' ', 1);
    write_json(data, writer);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    write_json(data, writer);
  }
  out.write(std::string_view(buffer.GetString(), buffer.GetSize()));
  out.write("\n");
}

}  // namespace pyfold
