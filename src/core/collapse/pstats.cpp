// pstats dump → caller graph → folded stacks, by the conserving algorithm of collapse-formats.md §2.6:
// roots by residual calls (SCC sources as a fallback), each function's context time split between its own time and
// its callees in proportion to tottime and the edges' cumtime, edges back into the current path dropped, small
// subtrees folded into the parent's self time, and integer counts whose sum is exactly Σ tottime in the unit.
#include "pyfold/collapse/pstats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "pyfold/collapse/marshal.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/frame_text.hpp"
#include "pyfold/text.hpp"

namespace pyfold::collapse {

namespace {

using marshal::Document;
using marshal::Type;
using marshal::Value;
using marshal::ValueId;

bool is_string_code(unsigned char c) {
  c &= 0x7f;
  return c == 'z' || c == 'Z' || c == 'a' || c == 'A' || c == 'u' || c == 't' || c == 's' || c == 'R' || c == 'r' ||
         c == 'c';
}

struct Edge {
  std::uint32_t caller;
  double nc, cc, tt, ct;
};

struct Function {
  std::string_view file, name;
  std::int64_t line = 0;
  double cc = 0, nc = 0, tt = 0, ct = 0;
  std::vector<Edge> callers;
};

struct Kid {
  std::uint32_t callee;
  double ct, nc;
};

struct Key {
  std::string_view file, name;
  std::int64_t line;
  bool operator==(const Key& o) const { return line == o.line && file == o.file && name == o.name; }
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    return hash_bytes(k.file) * 31 + hash_bytes(k.name) * 7 + std::size_t(k.line);
  }
};

class Reader {
 public:
  explicit Reader(const Document& doc) : doc_(doc) {}

  std::vector<Function> functions;
  std::size_t skipped_keys = 0;

  void read() {
    const Value& root = doc_[doc_.root()];
    if (root.type != Type::dict) doc_.fail(root.offset, "not a pstats dump: the top-level object is not a dict");
    const ValueId* items = doc_.items(root);
    functions.reserve(root.size);
    index_.reserve(root.size);
    by_name_id_.assign(doc_.value_count(), kNoFunction);
    std::vector<std::int64_t> index_of_entry(root.size, -1);
    // Pass 1: the functions (keys); pass 2: their callers, which may name functions defined later.
    for (std::uint32_t k = 0; k < root.size; ++k) {
      const Value& key = doc_[items[2 * k]];
      if (key.type == Type::tuple && key.size != 3) {  // e.g. the 3.15 sampling marker ("__sampled__",)
        ++skipped_keys;
        continue;
      }
      std::uint32_t f = function_for_key(items[2 * k]);
      index_of_entry[k] = f;
      const Value& value = doc_[items[2 * k + 1]];
      if (value.type != Type::tuple || value.size != 5)
        doc_.fail(value.offset, "a pstats value is a 5-tuple (cc, nc, tt, ct, callers)");
      const ValueId* stat = doc_.items(value);
      Function& fn = functions[f];
      fn.cc += number(stat[0]);
      fn.nc += number(stat[1]);
      fn.tt += std::max(0.0, number(stat[2]));  // the profile module's bias calibration can make times negative
      fn.ct += std::max(0.0, number(stat[3]));
    }
    for (std::uint32_t k = 0; k < root.size; ++k) {
      if (index_of_entry[k] < 0) continue;
      std::uint32_t f = std::uint32_t(index_of_entry[k]);
      const ValueId* stat = doc_.items(doc_[items[2 * k + 1]]);
      const Value& callers = doc_[stat[4]];
      if (callers.type != Type::dict) doc_.fail(callers.offset, "a pstats callers entry is a dict");
      const ValueId* edges = doc_.items(callers);
      double counted_calls = 0;  // int callers: calls from other functions
      bool counted = false;
      for (std::uint32_t e = 0; e < callers.size; ++e) {
        std::uint32_t caller = function_for_key(edges[2 * e]);
        Edge edge_value = edge(caller, edges[2 * e + 1]);
        if (edge_value.ct < 0) {
          counted = true;
          if (caller != f) counted_calls += edge_value.nc;
        }
        functions[f].callers.push_back(edge_value);
      }
      // An int caller value is a call count only (the profile module, 3.15 sampling): its times are the callee's in
      // proportion to the calls. Recursive calls from the function itself are left out of the proportion, because
      // the callee's cumtime counts outermost calls only (gprof2dot divides by all calls, which gives a recursive
      // function's outside caller a tiny share of its time).
      if (counted) {
        Function& fn = functions[f];
        for (Edge& e : fn.callers) {
          if (e.ct >= 0) continue;
          double denominator = e.caller == f ? fn.nc : counted_calls;
          double share = denominator > 0 ? std::min(1.0, e.nc / denominator) : 0;
          e.tt = fn.tt * share;
          e.ct = fn.ct * share;
        }
      }
    }
    // Merged dumps may name a caller twice (duplicate keys): one edge per caller.
    for (Function& fn : functions) {
      if (fn.callers.size() < 2) continue;
      std::stable_sort(fn.callers.begin(), fn.callers.end(),
                       [](const Edge& a, const Edge& b) { return a.caller < b.caller; });
      std::size_t out = 0;
      for (std::size_t i = 0; i < fn.callers.size(); ++i) {
        if (out > 0 && fn.callers[out - 1].caller == fn.callers[i].caller) {
          Edge& m = fn.callers[out - 1];
          m.nc += fn.callers[i].nc, m.cc += fn.callers[i].cc, m.tt += fn.callers[i].tt, m.ct += fn.callers[i].ct;
        } else {
          fn.callers[out++] = fn.callers[i];
        }
      }
      fn.callers.resize(out);
    }
  }

 private:
  double number(ValueId id) const {
    if (!doc_.is_number(id)) doc_.fail(doc_[id].offset, "expected a number");
    double d = doc_[id].number;
    if (!std::isfinite(d)) doc_.fail(doc_[id].offset, "number is not finite");
    return d;
  }

  std::string_view text(ValueId id, const char* what) const {
    if (!doc_.is_string(id)) doc_.fail(doc_[id].offset, std::string("expected a string as the ") + what);
    return doc_.text(doc_[id]);
  }

  std::uint32_t function_for_key(ValueId key_id) {
    const Value& key = doc_[key_id];
    if (key.type != Type::tuple || key.size != 3)
      doc_.fail(key.offset, "a pstats key is a 3-tuple (filename, line, function)");
    const ValueId* part = doc_.items(key);
    // Most keys repeat the same string objects (marshal refs): look them up by the name object before hashing text.
    const double line = doc_.is_number(part[1]) ? doc_[part[1]].number : -1.0;
    std::uint32_t& cached = by_name_id_[part[2]];
    if (cached != kNoFunction && key_file_id_[cached] == part[0] && key_line_[cached] == line) return cached;
    std::uint32_t f = function_for_text(part);
    if (f == key_file_id_.size()) {  // a new function: remember the objects of its first key
      key_file_id_.push_back(part[0]);
      key_line_.push_back(line);
    }
    cached = f;
    return f;
  }

  std::uint32_t function_for_text(const ValueId* part) {
    Key k;
    k.file = text(part[0], "file name of a key");
    const double line = number(part[1]);
    if (std::fabs(line) > 1e15) doc_.fail(doc_[part[1]].offset, "line number out of range");
    k.line = std::llround(line);
    const Value& name = doc_[part[2]];
    if (name.type == Type::code) {  // `python -m profile -o`: the top frame is keyed by the script's code object
      // Named by co_name under the key's own file and line ('profile', 0): the script's code object is not the
      // function ('prog.py', 1, '<module>') it runs, which is keyed separately.
      k.name = text(doc_.code(name).name, "name of a code object");
    } else {
      k.name = text(part[2], "function name of a key");
    }
    auto [it, added] = index_.emplace(k, std::uint32_t(functions.size()));
    if (added) {
      functions.emplace_back();
      functions.back().file = k.file;
      functions.back().name = k.name;
      functions.back().line = k.line;
    }
    return it->second;
  }

  // A caller's value: (nc, cc, tt, ct), 4k numbers (old merged files: the groups summed), or an int call count
  // (marked by ct = -1 until the caller loop shares out the callee's times).
  Edge edge(std::uint32_t caller, ValueId id) {
    const Value& v = doc_[id];
    Edge e{caller, 0, 0, 0, 0};
    if (doc_.is_number(id)) {
      e.nc = e.cc = std::max(0.0, number(id));
      e.ct = -1;
      return e;
    }
    if (v.type != Type::tuple || v.size == 0 || v.size % 4 != 0)
      doc_.fail(v.offset, "a caller's value is a 4-tuple (nc, cc, tt, ct), 4k numbers or a call count");
    const ValueId* n = doc_.items(v);
    for (std::uint32_t k = 0; k < v.size; k += 4) {
      e.nc += number(n[k]);
      e.cc += number(n[k + 1]);
      e.tt += std::max(0.0, number(n[k + 2]));
      e.ct += std::max(0.0, number(n[k + 3]));
    }
    return e;
  }

  static constexpr std::uint32_t kNoFunction = 0xffffffffu;
  const Document& doc_;
  std::unordered_map<Key, std::uint32_t, KeyHash> index_;
  std::vector<std::uint32_t> by_name_id_;  // name object → the function last found under it
  std::vector<ValueId> key_file_id_;       // per function: the file object and line of its first key
  std::vector<double> key_line_;
};

// One expanded node: a function in one calling context, in depth-first pre-order (so a line's path is its
// parent's path plus its own frame).
struct Line {
  std::uint32_t func;   // kAmbiguous for the [ambiguous callers] leaf
  std::uint32_t depth;  // frames above it
  double self;          // seconds (or the context time of an ambiguous leaf)
  double context;       // the time of the whole subtree in this context
  double calls;         // estimated calls of func in this context (for --weight calls)
};
constexpr std::uint32_t kAmbiguous = 0xffffffffu;

std::string seconds_text(double s) { return format("%.6f s", s); }

// The call graph the other way round: each function's callees (compressed rows) in the order the dump lists them,
// self edges left out (recursion is never followed).
struct Graph {
  const std::vector<Function>& fns;
  std::vector<std::uint32_t> kid_start;
  std::vector<Kid> kids;

  explicit Graph(const std::vector<Function>& functions) : fns(functions), kid_start(functions.size() + 1, 0) {
    const std::uint32_t n = std::uint32_t(fns.size());
    for (std::uint32_t c = 0; c < n; ++c)
      for (const Edge& e : fns[c].callers)
        if (e.caller != c) ++kid_start[e.caller + 1];
    for (std::uint32_t f = 0; f < n; ++f) kid_start[f + 1] += kid_start[f];
    kids.resize(kid_start[n]);
    std::vector<std::uint32_t> fill(kid_start.begin(), kid_start.end() - 1);
    for (std::uint32_t c = 0; c < n; ++c)
      for (const Edge& e : fns[c].callers)
        if (e.caller != c) kids[fill[e.caller]++] = Kid{c, e.ct, e.nc};
  }
  std::uint32_t size() const { return std::uint32_t(fns.size()); }
  const Kid* kids_begin(std::uint32_t f) const { return kids.data() + kid_start[f]; }
  const Kid* kids_end(std::uint32_t f) const { return kids.data() + kid_start[f + 1]; }
};

struct Root {
  std::uint32_t func;
  double weight;          // seconds
  double calls;           // calls from outside the profiled code (for --weight calls)
  bool replaced = false;  // a root without time, replaced by its callees: not expanded
};

// Calls into f from outside: all calls less those of its incoming edges.
double residual_calls(const Function& fn) {
  double in_calls = 0;
  for (const Edge& e : fn.callers) in_calls += e.nc;
  return fn.nc - in_calls;
}

// Fallback for the functions the roots do not reach (closed loops, the profile module's fake root): the sources of
// the condensation of the rest (strongly connected components, iterative Tarjan), each entered at its member with
// the largest cumtime.
void add_component_sources(const Graph& g, std::vector<Root>& roots, std::vector<char>& is_root) {
  const std::uint32_t n = g.size(), none = 0xffffffffu;
  std::vector<char> reached(n, 0);
  std::vector<std::uint32_t> todo;
  for (const Root& r : roots) reached[r.func] = 1, todo.push_back(r.func);
  while (!todo.empty()) {
    std::uint32_t f = todo.back();
    todo.pop_back();
    for (const Kid* k = g.kids_begin(f); k != g.kids_end(f); ++k)
      if (!reached[k->callee]) reached[k->callee] = 1, todo.push_back(k->callee);
  }
  std::vector<std::uint32_t> order(n, none), low(n, 0), component(n, none);
  std::vector<char> on_stack(n, 0);
  std::vector<std::uint32_t> scc_stack;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> call;  // (function, index of its next kid)
  std::uint32_t counter = 0, components = 0;
  for (std::uint32_t start = 0; start < n; ++start) {
    if (reached[start] || order[start] != none) continue;
    call.emplace_back(start, g.kid_start[start]);
    order[start] = low[start] = counter++;
    scc_stack.push_back(start), on_stack[start] = 1;
    while (!call.empty()) {
      auto& [f, next] = call.back();
      if (next < g.kid_start[f + 1]) {
        std::uint32_t c = g.kids[next++].callee;
        if (reached[c]) continue;
        if (order[c] == none) {
          order[c] = low[c] = counter++;
          scc_stack.push_back(c), on_stack[c] = 1;
          call.emplace_back(c, g.kid_start[c]);
        } else if (on_stack[c]) {
          low[f] = std::min(low[f], order[c]);
        }
        continue;
      }
      std::uint32_t done = f;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
      if (low[done] == order[done]) {
        std::uint32_t m;
        do {
          m = scc_stack.back();
          scc_stack.pop_back();
          on_stack[m] = 0;
          component[m] = components;
        } while (m != done);
        ++components;
      }
    }
  }
  std::vector<char> has_input(components, 0);
  std::vector<std::uint32_t> best(components, none);
  for (std::uint32_t f = 0; f < n; ++f) {
    if (reached[f]) continue;
    std::uint32_t cf = component[f];
    if (best[cf] == none || g.fns[f].ct > g.fns[best[cf]].ct) best[cf] = f;
    for (const Kid* k = g.kids_begin(f); k != g.kids_end(f); ++k)
      if (!reached[k->callee] && component[k->callee] != cf) has_input[component[k->callee]] = 1;
  }
  for (std::uint32_t cf = 0; cf < components; ++cf) {
    if (has_input[cf]) continue;
    roots.push_back(Root{best[cf], g.fns[best[cf]].ct, std::max(1.0, g.fns[best[cf]].nc)});
    is_root[best[cf]] = 1;
  }
}

// Roots: functions entered from outside the profiled code (residual calls), weighted by the time their callers do
// not already account for; then the fallback; then roots without time replaced by their callees.
std::vector<Root> find_roots(const Graph& g) {
  const std::uint32_t n = g.size();
  std::vector<Root> roots;
  std::vector<char> is_root(n, 0);
  for (std::uint32_t f = 0; f < n; ++f) {
    const Function& fn = g.fns[f];
    double residual = residual_calls(fn);
    if (residual < 0.5) continue;
    double in_time = 0;
    for (const Edge& e : fn.callers)
      if (e.caller != f) in_time += e.ct;
    // All primitive calls from outside (the recursive exec of `-m cProfile`): the whole cumtime is this root's.
    double weight = fn.cc <= residual + 0.5 ? fn.ct : std::clamp(fn.ct - in_time, 0.0, fn.ct);
    roots.push_back(Root{f, weight, residual});
    is_root[f] = 1;
  }
  add_component_sources(g, roots, is_root);
  // A root without time of its own (the profile module's ('profile', 0, 'profiler')) gives way to its callees.
  for (std::size_t r = 0; r < roots.size(); ++r) {
    if (roots[r].weight > 0) continue;
    const std::uint32_t f = roots[r].func;
    if (g.kids_begin(f) != g.kids_end(f)) roots[r].replaced = true;
    for (const Kid* k = g.kids_begin(f); k != g.kids_end(f); ++k) {
      if (is_root[k->callee] || k->ct <= 0) continue;
      is_root[k->callee] = 1;
      roots.push_back(Root{k->callee, k->ct, std::max(1.0, k->nc)});
    }
  }
  return roots;
}

// Depth-first expansion with an explicit stack: a function reached with time T splits T between its own time and
// its callees not on the path, in proportion to tottime and the edges' cumtime; callees whose share is below
// `threshold` (seconds) stay in its self time.
std::vector<Line> expand(const Graph& g, const std::vector<Root>& roots, const PstatsOptions& options,
                         double threshold) {
  const std::uint32_t n = g.size();
  const bool by_calls = options.weight == PstatsOptions::Weight::calls;
  // Calls into a function from outside it (recursive calls from itself do not enter it again).
  std::vector<double> entries(n, 0);
  for (std::uint32_t f = 0; f < n; ++f) {
    double self_calls = 0;
    for (const Edge& e : g.fns[f].callers)
      if (e.caller == f) self_calls += e.nc;
    entries[f] = std::max(0.0, g.fns[f].nc - self_calls);
  }
  auto followed = [&](const Kid& kid) { return kid.ct > 0 || (by_calls && kid.nc > 0); };

  struct Visit {
    std::uint32_t func, depth;
    double weight, calls;
  };
  std::vector<Visit> todo;
  for (auto r = roots.rbegin(); r != roots.rend(); ++r)
    if (r->weight > 0 || (by_calls && !r->replaced)) todo.push_back(Visit{r->func, 0, r->weight, r->calls});
  std::vector<Line> lines;
  std::vector<std::uint32_t> path;
  std::vector<char> on_path(n, 0);
  std::vector<Visit> kids;
  while (!todo.empty()) {
    const Visit v = todo.back();
    todo.pop_back();
    while (path.size() > v.depth) on_path[path.back()] = 0, path.pop_back();
    path.push_back(v.func);
    on_path[v.func] = 1;
    const Function& fn = g.fns[v.func];
    if (options.exact && v.depth > 0) {
      std::size_t callers = 0;
      for (const Edge& e : fn.callers) callers += e.caller != v.func;
      if (callers > 1) {  // which caller's share goes where is a guess: stop, and say so
        lines.push_back(Line{v.func, v.depth, 0, v.weight, v.calls});
        lines.push_back(Line{kAmbiguous, v.depth + 1, v.weight, v.weight, 0});
        continue;
      }
    }
    double self = v.weight;
    kids.clear();
    if (v.depth + 1 < options.max_depth) {
      double sum = fn.tt;
      for (const Kid* k = g.kids_begin(v.func); k != g.kids_end(v.func); ++k)
        if (!on_path[k->callee] && followed(*k)) sum += k->ct;
      if (sum > 0) {
        self = v.weight * fn.tt / sum;
        for (const Kid* k = g.kids_begin(v.func); k != g.kids_end(v.func); ++k) {
          if (on_path[k->callee] || !followed(*k)) continue;
          double share = v.weight * k->ct / sum;
          if (share < threshold) {
            self += share;
          } else {
            double calls = entries[v.func] > 0 ? v.calls * k->nc / entries[v.func] : 0;
            kids.push_back(Visit{k->callee, v.depth + 1, share, calls});
          }
        }
      }
    }
    lines.push_back(Line{v.func, v.depth, self, v.weight, v.calls});
    todo.insert(todo.end(), kids.rbegin(), kids.rend());
  }
  return lines;
}

// Integer counts: each value rounded with the remainder carried, and the last counted line takes the final
// correction so the total is exactly the target.
std::vector<long long> round_carrying(const std::vector<double>& values, long long target) {
  std::vector<long long> counts(values.size(), 0);
  double carried = 0;
  long long written = 0;
  std::size_t last = values.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    carried += values[i];
    long long count = std::llround(carried) - written;
    if (count <= 0) continue;
    counts[i] = count;
    written += count;
    last = i;
  }
  if (last < values.size()) counts[last] = std::max(0LL, counts[last] + target - written);
  return counts;
}

// Writes the lines: each path is its parent's path (the line at depth-1 before it) plus one frame. Frame texts
// are made when first needed (a pruned profile names a fraction of its functions).
void write_lines(const Document& doc, const std::vector<Function>& fns, const std::vector<Line>& lines,
                 const std::vector<long long>& counts, StackSink& sink) {
  std::vector<std::string> frames(fns.size());
  std::vector<char> have_frame(fns.size(), 0);
  std::string stack;
  std::vector<std::size_t> length_at_depth;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.depth > length_at_depth.size()) doc.fail(0, "internal error: stack line out of order");
    length_at_depth.resize(l.depth);
    stack.resize(l.depth == 0 ? 0 : length_at_depth.back());
    if (l.depth > 0) stack.push_back(';');
    if (l.func == kAmbiguous) {
      stack += "[ambiguous callers]";
    } else {
      if (!have_frame[l.func]) {
        std::string_view file = fns[l.func].file;
        if (file == "~") file = {};  // cProfile's built-ins: ('~', 0, '<built-in method builtins.exec>')
        append_frame_text(frames[l.func], fns[l.func].name, file, fns[l.func].line);
        have_frame[l.func] = 1;
      }
      stack += frames[l.func];
    }
    length_at_depth.push_back(stack.size());
    if (counts[i] > 0) sink.add(stack, double(counts[i]));
  }
}

}  // namespace

Applicable pstats_applicable(std::string_view head) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.empty()) return Applicable::need_more;
  if (byte(0) != 0xfb && byte(0) != 0x7b) return Applicable::no;  // the dict (flagged in Python 3, plain in 2)
  if (head.size() < 2) return Applicable::need_more;
  unsigned char first = byte(1) & 0x7f;
  if (first == '0') return head.size() == 2 ? Applicable::yes : Applicable::no;  // an empty dump
  if (first == ')') {  // Python 3: a small tuple key of 3 items (or the 3.15 marker of 1), then a string
    if (head.size() < 4) return Applicable::need_more;
    if (byte(2) != 3 && byte(2) != 1) return Applicable::no;
    return is_string_code(byte(3)) ? Applicable::yes : Applicable::no;
  }
  if (first == '(') {  // Python 2: a tuple key with a 32-bit size 3, then a string
    if (head.size() < 7) return Applicable::need_more;
    if (byte(2) != 3 || byte(3) != 0 || byte(4) != 0 || byte(5) != 0) return Applicable::no;
    return is_string_code(byte(6)) ? Applicable::yes : Applicable::no;
  }
  return Applicable::no;
}

PstatsReport collapse_pstats(InputSource& input, const PstatsOptions& options, StackSink& sink) {
  PstatsReport report;
  std::string bytes;
  {
    char buffer[1 << 16];
    while (std::size_t got = input.read(buffer, sizeof buffer)) bytes.append(buffer, got);
  }
  const Document doc(std::move(bytes), input.name());
  Reader reader(doc);
  reader.read();
  const std::vector<Function>& fns = reader.functions;
  const Graph graph(fns);
  const bool by_calls = options.weight == PstatsOptions::Weight::calls;
  const double factor = options.unit == PstatsOptions::Unit::ms ? 1e3 : options.unit == PstatsOptions::Unit::ns ? 1e9
                                                                                                                 : 1e6;
  const std::vector<Root> roots = find_roots(graph);
  double root_total = 0, tt_total = 0, nc_total = 0;
  for (const Root& r : roots) root_total += r.weight;
  for (const Function& fn : fns) tt_total += fn.tt, nc_total += fn.nc;
  // Counts are 64-bit integers: refuse totals no profile reaches (a corrupt number) rather than overflow.
  if (tt_total * factor > 1e17 || nc_total > 1e17 || root_total * factor > 1e17)
    doc.fail(0, "times or call counts too large to count (total tottime " + format("%g", tt_total) + " s, " +
                    format("%g", nc_total) + " calls)");
  if (std::fabs(root_total - tt_total) > 0.01 * tt_total && std::fabs(root_total - tt_total) * factor > 1)
    report.warnings.push_back(
        doc.source() + ": the roots' cumulative time (" + seconds_text(root_total) +
        ") differs from the sum of tottime (" + seconds_text(tt_total) +
        "): threads (Python 3.12+) or code that calls sys.setprofile; stacks are scaled to the sum of tottime");

  // Half a count is never worth a stack of its own (except for calls with --prune 0).
  const double threshold = std::max(by_calls && options.prune <= 0 ? 0.0 : 0.5 / factor, options.prune * root_total);
  const std::vector<Line> lines = expand(graph, roots, options, threshold);

  std::vector<double> values(lines.size(), 0);
  long long target;
  if (!by_calls) {
    // Time: each line's self time in the unit, scaled so the total is Σ tottime.
    const double scale = root_total > 0 ? factor * tt_total / root_total : 0;
    for (std::size_t i = 0; i < lines.size(); ++i) values[i] = lines[i].self * scale;
    target = root_total > 0 ? std::llround(tt_total * factor) : 0;
    if (root_total <= 0 && tt_total > 0)
      report.warnings.push_back(doc.source() + ": no root with time found; nothing written");
  } else {
    // Calls: each function's calls spread over its contexts in proportion to the calls estimated there (each
    // entry of a caller makes edge calls / entries calls to it), evenly when there is no estimate.
    const std::size_t n = fns.size();
    std::vector<double> context_sum(n, 0), contexts(n, 0);
    for (const Line& l : lines)
      if (l.func != kAmbiguous) context_sum[l.func] += l.calls, contexts[l.func] += 1;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Line& l = lines[i];
      if (l.func == kAmbiguous) continue;
      values[i] = context_sum[l.func] > 0 ? fns[l.func].nc * l.calls / context_sum[l.func]
                                          : fns[l.func].nc / contexts[l.func];
    }
    double shown = 0, hidden = 0;
    std::size_t hidden_functions = 0;
    for (std::size_t f = 0; f < n; ++f) {
      if (contexts[f] > 0) {
        shown += fns[f].nc;
      } else if (fns[f].nc > 0) {
        hidden += fns[f].nc, ++hidden_functions;
      }
    }
    target = std::llround(shown);
    if (hidden_functions > 0)
      report.warnings.push_back(doc.source() + ": " + std::to_string(std::llround(hidden)) + " calls of " +
                                std::to_string(hidden_functions) +
                                " functions below the --prune threshold (or without time) are not shown");
  }
  write_lines(doc, fns, lines, round_carrying(values, target), sink);
  return report;
}

}  // namespace pyfold::collapse
