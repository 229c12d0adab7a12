// pstats dump → caller graph → folded stacks. Roots by residual calls (SCC sources as a fallback, see
// collapse-formats.md §2.6); then bottom up: each function's own time is placed on stacks that end at it, climbing
// through its callers in proportion to the edges' cumtime within budgets (no edge or function drawn with more than
// its cumtime), so every function's self time is exact; the stacks merged into a tree, small subtrees pruned to a
// "[pruned]" child, and integer counts whose sum is exactly Σ tottime in the unit. pyfold-collapse(1) says what the
// result guarantees.
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
  bool counted = false;  // an int caller value (the profile module): a call count only, its times are estimates
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
          e.counted = true;
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
          m.counted = m.counted || fn.callers[i].counted;
        } else {
          fn.callers[out++] = fn.callers[i];
        }
      }
      fn.callers.resize(out);
    }
    // A function that does not call itself was on the stack for at least its own time plus the time of each call
    // it made. Some dumps say less: 3.12+ cProfile.run() gives the `<string>` module it execs a cumtime of
    // microseconds while the dump's own edge from it to the program's main is the whole run. Its cumtime is raised
    // toward that bound, the time added taken by its edges from its callers (shared by calls), each only as far as
    // that caller has time for it (its cumtime less its own time and, unless it calls itself, its other calls):
    // two functions under one key (namedtuple constructors are all ('<string>', 1, '<lambda>')) make the same
    // contradiction, and there the caller has no such time. What cannot be raised goes to `[caller unknown]`.
    std::vector<double> out_time(functions.size(), 0);
    for (std::uint32_t c = 0; c < functions.size(); ++c)
      for (const Edge& e : functions[c].callers)
        if (e.caller != c && !e.counted) out_time[e.caller] += e.ct;
    for (std::uint32_t f = 0; f < functions.size(); ++f) {
      Function& fn = functions[f];
      const double added = fn.tt + out_time[f] - fn.ct;
      if (fn.cc < fn.nc || !(added > 1e-9 * fn.ct)) continue;  // cc < nc: it calls itself
      double calls = 0;
      for (const Edge& e : fn.callers)
        if (e.caller != f && !e.counted) calls += e.nc;
      if (calls <= 0) continue;
      for (Edge& e : fn.callers) {
        if (e.caller == f || e.counted) continue;
        const Function& c = functions[e.caller];
        const double others = c.cc < c.nc ? 0 : out_time[e.caller] - e.ct;
        const double raise = std::clamp(c.ct - c.tt - others - e.ct, 0.0, added * e.nc / calls);
        e.ct += raise;
        out_time[e.caller] += raise;
        fn.ct += raise;
      }
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

std::string seconds_text(double s) { return format("%.6f s", s); }

// The call graph the other way round: each function's callees (compressed rows) in the order the dump lists them,
// self edges left out (for the roots' fallback).
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


// What sits on top of a stack that does not start at a root.
enum class Top : std::uint8_t {
  root,            // the stack starts at a function entered from outside the profiled code
  caller_unknown,  // the callers' edge times in the dump are used up: "[caller unknown]" on top
  ambiguous,       // --exact: the next function up has several callers: "[ambiguous callers]" on top
};


// The stacks merged into a tree, root first, so that small subtrees can be pruned: a node's children whose subtree
// is under the threshold go to one "[pruned]" child of it (their time is its callees', not its own: every drawn
// function keeps its own time). Paths deeper than --max-depth keep the frames nearest the root and their leaf, with
// "[frames cut]" between them.
class Tree {
 public:
  Tree(const std::vector<Function>& fns, const PstatsOptions& options)
      : fns_(fns), n_(std::uint32_t(fns.size())), max_depth_(options.max_depth) {
    nodes_.push_back(Node{kNoParent, 0, 0, 0});
    slots_.assign(1 << 12, kEmpty);
  }

  // One stack: its frames leaf first, what is on top of it, and its amount.
  void add(const std::uint32_t* leaf_first, std::size_t length, Top top, double amount) {
    std::uint32_t node = 0;
    std::size_t depth = length;
    if (top == Top::caller_unknown) node = child(node, n_ + kCallerUnknown), ++depth;
    if (top == Top::ambiguous) node = child(node, n_ + kAmbiguous), ++depth;
    const std::size_t above = depth - length;
    std::size_t keep = length - 1;  // frames above the leaf, root side first
    if (depth > max_depth_) keep = max_depth_ >= above + 2 ? max_depth_ - above - 2 : 0;
    for (std::size_t k = 0; k < keep; ++k) node = child(node, leaf_first[length - 1 - k]);
    if (depth > max_depth_) node = child(node, n_ + kFramesCut);
    node = child(node, leaf_first[0]);
    nodes_[node].self += amount;
  }

  // Totals, children lists, and the lines with the subtrees under `threshold` pruned.
  // function_amount: each function's own time (or calls); those with at least `threshold` keep theirs under
  // "[pruned]" as a leaf of their own, so that a large function's self time is whole even when its contexts are
  // pruned.
  void finish(double threshold, const std::vector<double>& function_amount) {
    for (std::size_t i = nodes_.size(); i-- > 1;) {  // children come after their parents
      nodes_[i].total += nodes_[i].self;
      nodes_[nodes_[i].parent].total += nodes_[i].total;
    }
    child_start_.assign(nodes_.size() + 1, 0);
    for (std::size_t i = 1; i < nodes_.size(); ++i) ++child_start_[nodes_[i].parent + 1];
    for (std::size_t i = 0; i < nodes_.size(); ++i) child_start_[i + 1] += child_start_[i];
    children_.resize(nodes_.size());
    std::vector<std::uint32_t> fill(child_start_.begin(), child_start_.end() - 1);
    for (std::uint32_t i = 1; i < nodes_.size(); ++i) children_[fill[nodes_[i].parent]++] = i;
    lines(threshold, function_amount);
  }

  // The stacks to write: each with its amount, in depth-first order.
  struct Line {
    std::uint32_t node;  // its last frame, or the node whose [pruned] child it is
    bool pruned;         // node;[pruned], or node;[pruned];func when func is a function
    std::uint32_t func;  // a large function's own time in pruned subtrees (n_: the rest)
    double amount;
  };
  std::vector<Line> out;

  // Each line's group for rounding: its function, or fns.size() for the [pruned] lines.
  std::vector<std::uint32_t> groups() const {
    std::vector<std::uint32_t> g(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) g[i] = out[i].pruned ? out[i].func : std::min(n_, nodes_[out[i].node].key);
    return g;
  }

  void write(const std::vector<long long>& counts, StackSink& sink) {
    std::vector<std::string> frames(n_);
    std::vector<char> have_frame(n_, 0);
    std::string stack;
    std::vector<std::uint32_t> chain;
    auto frame = [&](std::uint32_t key) -> const std::string& {
      if (!have_frame[key]) {
        std::string_view file = fns_[key].file;
        if (file == "~") file = {};  // cProfile's built-ins: ('~', 0, '<built-in method builtins.exec>')
        append_frame_text(frames[key], fns_[key].name, file, fns_[key].line);
        have_frame[key] = 1;
      }
      return frames[key];
    };
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (counts[i] <= 0) continue;
      chain.clear();
      for (std::uint32_t node = out[i].node; node != 0; node = nodes_[node].parent) chain.push_back(node);
      stack.clear();
      for (auto c = chain.rbegin(); c != chain.rend(); ++c) {
        if (!stack.empty()) stack.push_back(';');
        const std::uint32_t key = nodes_[*c].key;
        if (key >= n_) {
          stack += kMarkerText[key - n_];
          continue;
        }
        stack += frame(key);
      }
      if (out[i].pruned) {
        if (!stack.empty()) stack.push_back(';');
        stack += kMarkerText[kPruned];
        if (out[i].func < n_) stack += ";" + frame(out[i].func);
      }
      sink.add(stack, double(counts[i]));
    }
  }

 private:
  enum Marker : std::uint32_t { kCallerUnknown, kAmbiguous, kFramesCut, kPruned };
  static constexpr const char* kMarkerText[] = {"[caller unknown]", "[ambiguous callers]", "[frames cut]",
                                                "[pruned]"};
  static constexpr std::uint32_t kNoParent = 0xffffffffu;
  static constexpr std::uint64_t kEmpty = ~std::uint64_t(0);
  struct Node {
    std::uint32_t parent, key;
    double self, total;
  };

  // The child of parent with key, made when new: an open-addressing table of (parent, key) → node.
  std::uint32_t child(std::uint32_t parent, std::uint32_t key) {
    const std::uint64_t k = (std::uint64_t(parent) << 32) | key;
    std::size_t mask = slots_.size() - 1;
    std::size_t i = std::size_t((k * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
    for (;; i = (i + 1) & mask) {
      if (slots_[i] == kEmpty) break;
      const Node& n = nodes_[std::uint32_t(slots_[i])];
      if (n.parent == parent && n.key == key) return std::uint32_t(slots_[i]);
    }
    const std::uint32_t id = std::uint32_t(nodes_.size());
    nodes_.push_back(Node{parent, key, 0, 0});
    slots_[i] = id;
    if (nodes_.size() * 2 > slots_.size()) grow();
    return id;
  }

  void grow() {
    std::vector<std::uint64_t> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (std::uint32_t id = 1; id < nodes_.size(); ++id) {
      const std::uint64_t k = (std::uint64_t(nodes_[id].parent) << 32) | nodes_[id].key;
      std::size_t i = std::size_t((k * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = id;
    }
  }

  // Depth-first from the root: a node's own line, its kept children, then one [pruned] line for the others.
  void lines(double threshold, const std::vector<double>& function_amount) {
    struct Visit {
      std::uint32_t node;
    };
    std::vector<Visit> todo, kids;
    std::vector<std::uint32_t> walk;
    std::vector<double> large(n_, 0);     // a pruned group's time of each large function
    std::vector<std::uint32_t> touched;  // the large functions met in this group
    for (std::uint32_t c = child_start_[1]; c-- > child_start_[0];) todo.push_back(Visit{children_[c]});
    while (!todo.empty()) {
      const Visit v = todo.back();
      todo.pop_back();
      out.push_back(Line{v.node, false, n_, nodes_[v.node].self});
      double rest = 0;
      kids.clear();
      touched.clear();
      for (std::uint32_t c = child_start_[v.node]; c < child_start_[v.node + 1]; ++c) {
        const std::uint32_t kid = children_[c];
        // A leaf's own frame is never pruned away from a marker (the [caller unknown] and cut stacks keep theirs).
        if (nodes_[kid].total >= threshold || nodes_[v.node].key >= n_) {
          kids.push_back(Visit{kid});
          continue;
        }
        walk.assign(1, kid);  // the pruned subtree: large functions' own time apart, the rest together
        while (!walk.empty()) {
          const std::uint32_t w = walk.back();
          walk.pop_back();
          const Node& node = nodes_[w];
          if (node.self > 0) {
            if (node.key < n_ && function_amount[node.key] >= threshold) {
              if (large[node.key] == 0) touched.push_back(node.key);
              large[node.key] += node.self;
            } else {
              rest += node.self;
            }
          }
          for (std::uint32_t k = child_start_[w]; k < child_start_[w + 1]; ++k) walk.push_back(children_[k]);
        }
      }
      if (rest > 0) out.push_back(Line{v.node, true, n_, rest});
      for (std::uint32_t f : touched) {
        out.push_back(Line{v.node, true, f, large[f]});
        large[f] = 0;
      }
      for (auto k = kids.rbegin(); k != kids.rend(); ++k) todo.push_back(*k);
    }
  }

  const std::vector<Function>& fns_;
  const std::uint32_t n_;
  std::vector<Node> nodes_;
  const std::size_t max_depth_;
  std::vector<std::uint64_t> slots_;
  std::vector<std::uint32_t> child_start_, children_;
};

// The bottom-up rebuild. Each function's own time (or its primitive calls) is placed on stacks that end at that
// function, so its self time is exact by construction. The stack is built upwards from the leaf: at each function the
// amount is shared between the callers (not already on the stack) and, for a root, the outside, in proportion to the
// edges' cumtime (and the root's weight), water-filled so that no edge carries more than its cumtime and no function
// more than its cumtime less its own tottime (which stays reserved for its own stacks). What no caller can take
// any more is left on a stack topped by "[caller unknown]". Amounts below `threshold` are not split: they go up
// through the heaviest caller that still has room.
class Rebuild {
  static constexpr double kFree = 1e300;  // the room of what has no budget

 public:
  Rebuild(const Graph& g, const std::vector<Root>& roots, const PstatsOptions& options, double threshold, Tree& tree)
      : tree_(tree), fns_(g.fns), options_(options), threshold_(threshold), by_calls_(options.weight == PstatsOptions::Weight::calls) {
    const std::uint32_t n = g.size();

    root_weight_.assign(n, 0);
    root_room_.assign(n, 0);
    for (const Root& r : roots) {
      if (r.replaced) continue;
      root_weight_[r.func] += by_calls_ ? r.calls : r.weight;
    }
    // A whisker of slack so float sums that equal a budget are not turned away.
    auto room_of = [&](double budget) { return by_calls_ ? kFree : budget * (1 + 1e-9) + 1e-12; };
    for (std::uint32_t f = 0; f < n; ++f) root_room_[f] = root_weight_[f] > 0 ? room_of(root_weight_[f]) : 0;
    node_room_.resize(n);
    // (With --weight calls: no budget, but a function never called, the profile module's fake root, is on no stack.)
    for (std::uint32_t f = 0; f < n; ++f)
      node_room_[f] = by_calls_ ? (fns_[f].nc > 0 ? kFree : 0) : room_of(std::max(0.0, fns_[f].ct - fns_[f].tt));
    caller_start_.assign(n + 1, 0);
    for (std::uint32_t f = 0; f < n; ++f) {
      for (const Edge& e : fns_[f].callers)
        // An edge known by its calls only has no time to keep to: its callee's and caller's cumtime still hold.
        if (e.caller != f)
          callers_.push_back(Caller{e.caller, by_calls_ ? e.nc : e.ct, e.counted ? kFree : room_of(e.ct), e.ct, e.nc});
      caller_start_[f + 1] = std::uint32_t(callers_.size());
      std::sort(callers_.begin() + caller_start_[f], callers_.end(),
                [](const Caller& a, const Caller& b) { return a.weight > b.weight; });
    }
    on_path_.assign(n, 0);
    edge_on_path_.assign(callers_.size(), 0);
  }

  double caller_unknown = 0;  // the amount left under "[caller unknown]"

  // Places `amount` of f's own time (or calls) on stacks ending at f.
  void place(std::uint32_t f, double amount) {
    struct Step {
      std::uint32_t func, depth, via;  // via: the caller entry that led here (kNone at the leaf)
      double amount;
    };
    std::vector<Step> todo{Step{f, 0, kNone, amount}};
    while (!todo.empty()) {
      const Step s = todo.back();
      todo.pop_back();
      while (path_.size() > s.depth) pop();
      path_.push_back(s.func);
      via_.push_back(s.via);
      ++on_path_[s.func];
      if (s.via != kNone) ++edge_on_path_[s.via];
      share(s.func, s.amount);
      for (auto o = options_found_.rbegin(); o != options_found_.rend(); ++o)
        if (o->given > 0 && !o->is_root)
          todo.push_back(Step{callers_[o->caller].func, s.depth + 1, o->caller, o->given});
    }
    while (!path_.empty()) pop();
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;
  // Longest path climbed: a cycle whose heaviest way round is free (all its edges already on the path) stops here.
  static constexpr std::size_t kMaxClimb = 1024;
  static constexpr std::uint32_t kMaxRepeat = 4;

  void pop() {
    --on_path_[path_.back()];
    if (via_.back() != kNone) --edge_on_path_[via_.back()];
    path_.pop_back();
    via_.pop_back();
  }

  struct Caller {
    std::uint32_t func;
    double weight, room;  // room: the edge's cumtime not yet used
    double ct, nc;        // the edge's cumtime and calls
  };
  struct Option {
    bool is_root;
    std::uint32_t caller;  // index into callers_ (not for the root option)
    double weight, room, given;
    bool repeat;  // its edge is already on the path
  };

  // Shares `amount` at the top of the current path (x) between its options; the root's share and what is left
  // become stacks now, the callers' shares are returned in options_found_ to go on up.
  void share(std::uint32_t x, double amount, bool call_rule = true) {
    options_found_.clear();
    // One call is not split between activations: a caller whose calls to x took less in all than one call of the
    // edge below (x → the path's next function) takes on average could not have made it (the script's exec and
    // the nested exec of an import: the module body's one call takes longer than all nested execs together).
    double per_call = 0;
    if (call_rule && !by_calls_ && via_.back() != kNone) {
      const Caller& below = callers_[via_.back()];
      per_call = below.ct / std::max(1.0, below.nc) * (1 - 1e-9);
    }
    // Small amounts (most of them) go whole to one option: the heaviest caller not yet on the path with room for
    // it (callers are sorted heaviest first, so the scan mostly stops at once), or the root if that is heavier.
    if (amount < threshold_ && !options_.exact && path_.size() < kMaxClimb) {
      double best_weight = -1;
      std::uint32_t best = kNone;
      for (std::uint32_t c = caller_start_[x]; c < caller_start_[x + 1]; ++c) {
        const Caller& caller = callers_[c];
        if (caller.weight <= 0) break;
        if (edge_on_path_[c] || caller.ct < per_call) continue;
        const double room = std::min(caller.room, on_path_[caller.func] ? kFree : node_room_[caller.func]);
        if (room < amount) continue;
        best_weight = by_calls_ ? caller.weight : std::min(caller.weight, room);
        best = c;
        break;
      }
      const bool root_fits = root_weight_[x] > 0 && root_weight_[x] >= per_call && root_room_[x] >= amount;
      if (root_fits && (by_calls_ ? root_weight_[x] : std::min(root_weight_[x], root_room_[x])) >= best_weight) {
        root_room_[x] -= amount;
        emit(amount, Top::root);
        return;
      }
      if (best != kNone) {
        Caller& caller = callers_[best];
        caller.room -= amount;
        if (!on_path_[caller.func]) node_room_[caller.func] -= amount;
        options_found_.push_back(Option{false, best, 0, 0, amount, false});
        return;
      }
    }
    bool skipped = false;
    if (root_weight_[x] > 0) {
      if (root_weight_[x] >= per_call) {
        options_found_.push_back(
            Option{true, 0, by_calls_ ? root_weight_[x] : std::min(root_weight_[x], root_room_[x]), root_room_[x], 0,
                   false});
      } else {
        skipped = true;
      }
    }
    if (path_.size() < kMaxClimb) {
      for (std::uint32_t c = caller_start_[x]; c < caller_start_[x + 1]; ++c) {
        const Caller& caller = callers_[c];
        // A function or an edge already on the path (recursion drawn as it ran, e.g. the nested imports' exec)
        // already holds this amount in its cumtime; an edge at most kMaxRepeat times, so that a cycle ends.
        if (caller.weight <= 0 || edge_on_path_[c] >= kMaxRepeat) continue;
        const double edge_room = edge_on_path_[c] ? kFree : caller.room;
        const double node_room = on_path_[caller.func] ? kFree : node_room_[caller.func];
        if (caller.ct < per_call) {
          skipped = true;
          continue;
        }
        const double room = std::min(edge_room, node_room);
        // The edge's cumtime not yet drawn: where the dump still has time to explain (free on a recursion).
        options_found_.push_back(Option{false, c, by_calls_ ? caller.weight : std::min(caller.weight, room), room, 0,
                                        edge_on_path_[c] > 0});
      }
    }
    if (options_found_.empty() && skipped && per_call > 0) {  // no caller fits the rule: take them all
      share(x, amount, false);
      return;
    }
    if (options_.exact && options_found_.size() > 1) {  // which caller is a guess: stop, and say so
      options_found_.clear();
      emit(amount, Top::ambiguous);
      return;
    }
    double left = amount;
    Option* best = nullptr;  // small amounts go whole to the heaviest option with room for them, round a cycle last
    if (amount < threshold_)
      for (Option& o : options_found_)
        if (o.room >= amount && (!best || (best->repeat && !o.repeat) ||
                                 (best->repeat == o.repeat && o.weight > best->weight)))
          best = &o;
    if (best) {
      best->given = amount;
      left = 0;
    } else {
      left = water_fill(amount);
    }
    for (Option& o : options_found_) {
      if (o.given <= 0) continue;
      if (o.is_root) {
        root_room_[x] -= o.given;
        emit(o.given, Top::root);
      } else {
        Caller& caller = callers_[o.caller];
        if (!o.repeat) caller.room -= o.given;
        if (!on_path_[caller.func]) node_room_[caller.func] -= o.given;
      }
    }
    if (left > 0) {
      caller_unknown += left;
      emit(left, Top::caller_unknown);
    }
  }

  // Gives each option amount × weight / Σ weights, except that no option gets more than its room: the capped
  // options' excess is shared again among the others. Returns what no option has room for.
  double water_fill(double amount) {
    double left = amount;
    if (amount < threshold_) {  // a small amount no option has room for: as few pieces as can be, heaviest first
      std::sort(options_found_.begin(), options_found_.end(), [](const Option& a, const Option& b) {
        return a.repeat != b.repeat ? b.repeat : a.weight > b.weight;
      });
      for (Option& o : options_found_) {
        if (left <= 0) break;
        if (o.room <= 0 || o.weight <= 0) continue;
        o.given = std::min(left, o.room);
        left -= o.given;
      }
      return std::max(0.0, left);
    }
    for (;;) {
      double weights = 0;
      for (const Option& o : options_found_)
        if (o.room - o.given > 0 && o.given == 0 && !o.repeat) weights += o.weight;
      if (weights <= 0 || left <= 0) break;
      bool capped = false;
      for (Option& o : options_found_) {
        if (o.given != 0 || o.room <= 0 || o.repeat) continue;
        if (left * o.weight / weights >= o.room) o.given = o.room, capped = true;
      }
      if (capped) {
        double given = 0;
        for (const Option& o : options_found_) given += o.given;
        left = amount - given;
        continue;
      }
      for (Option& o : options_found_)
        if (o.given == 0 && o.room > 0 && !o.repeat) o.given = left * o.weight / weights;
      pool_small_shares();
      return 0;
    }
    // Round a recursion once more only for what the callers not yet on the path have no room for: recursion is
    // drawn where the edges' times need it, not invented.
    for (Option& o : options_found_) {
      if (left <= 0) break;
      if (!o.repeat || o.weight <= 0) continue;
      o.given = left;
      left = 0;
    }
    return left;
  }

  // Shares under the threshold would each make a stack of their own all the way up: they go instead to the options
  // with larger shares, heaviest first, as far as their room allows (what does not fit stays where it was).
  void pool_small_shares() {
    double pool = 0, room = 0;
    for (const Option& o : options_found_) {
      if (o.given <= 0) continue;
      if (o.given < threshold_) pool += o.given;
      else room += o.room - o.given;
    }
    if (pool <= 0 || room < pool) return;
    for (Option& o : options_found_)
      if (o.given > 0 && o.given < threshold_) o.given = 0;
    while (pool > 0) {
      Option* heaviest = nullptr;
      for (Option& o : options_found_)
        if (o.given >= threshold_ && o.room - o.given > 0 && (!heaviest || o.weight > heaviest->weight)) heaviest = &o;
      if (!heaviest) break;
      const double take = std::min(pool, heaviest->room - heaviest->given);
      heaviest->given += take;
      pool -= take;
      if (pool > 0) heaviest->room = heaviest->given;  // full: not chosen again (its real room is kept below)
    }
    if (pool > 0) {  // float dust
      Option* largest = &options_found_.front();
      for (Option& o : options_found_)
        if (o.given > largest->given) largest = &o;
      largest->given += pool;
    }
  }

  void emit(double amount, Top top) {
    tree_.add(path_.data(), path_.size(), top, amount);
  }

  Tree& tree_;
  const std::vector<Function>& fns_;
  const PstatsOptions& options_;
  const double threshold_;
  const bool by_calls_;
  std::vector<double> root_weight_, root_room_, node_room_;
  std::vector<std::uint32_t> caller_start_;
  std::vector<Caller> callers_;
  std::vector<std::uint32_t> on_path_, edge_on_path_;  // how often each function and caller entry is on the path
  std::vector<std::uint32_t> path_, via_;
  std::vector<Option> options_found_;
};


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
  if (last < values.size()) {
    counts[last] = std::max(0LL, counts[last] + target - written);
  } else if (target > 0 && !values.empty()) {  // every value under half a count: the largest takes the target
    counts[std::size_t(std::max_element(values.begin(), values.end()) - values.begin())] = target;
  }
  return counts;
}

// Integer counts that keep each group's total (a function's own time; all [pruned] lines are one group) within one
// count of its exact value and the grand total exactly `target`: each group gets its total rounded down, the counts
// left over go to the groups with the largest remainders, and each group's lines are rounded carrying to its total.
std::vector<long long> round_by_group(const std::vector<double>& values, const std::vector<std::uint32_t>& groups,
                                      std::uint32_t group_count, long long target) {
  std::vector<double> exact(group_count, 0);
  for (std::size_t i = 0; i < values.size(); ++i) exact[groups[i]] += values[i];
  std::vector<long long> group_target(group_count);
  long long given = 0;
  std::vector<std::uint32_t> by_remainder;
  for (std::uint32_t g = 0; g < group_count; ++g) {
    group_target[g] = (long long)std::floor(exact[g]);
    given += group_target[g];
    if (exact[g] > 0) by_remainder.push_back(g);
  }
  std::sort(by_remainder.begin(), by_remainder.end(), [&](std::uint32_t a, std::uint32_t b) {
    double ra = exact[a] - std::floor(exact[a]), rb = exact[b] - std::floor(exact[b]);
    return ra != rb ? ra > rb : a < b;
  });
  for (std::size_t k = 0; given < target && !by_remainder.empty(); k = (k + 1) % by_remainder.size())
    ++group_target[by_remainder[k]], ++given;
  // Lines of each group, in output order.
  std::vector<std::uint32_t> start(group_count + 1, 0), order(values.size());
  for (std::uint32_t g : groups) ++start[g + 1];
  for (std::uint32_t g = 0; g < group_count; ++g) start[g + 1] += start[g];
  std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
  for (std::uint32_t i = 0; i < values.size(); ++i) order[fill[groups[i]]++] = i;
  std::vector<long long> counts(values.size(), 0);
  std::vector<double> part;
  for (std::uint32_t g = 0; g < group_count; ++g) {
    if (start[g] == start[g + 1]) continue;
    part.clear();
    for (std::uint32_t k = start[g]; k < start[g + 1]; ++k) part.push_back(values[order[k]]);
    const std::vector<long long> c = round_carrying(part, group_target[g]);
    for (std::uint32_t k = start[g]; k < start[g + 1]; ++k) counts[order[k]] = c[k - start[g]];
  }
  return counts;
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
  const double factor = units_per_second(options.unit);
  const std::vector<Root> roots = find_roots(graph);
  double root_total = 0, tt_total = 0, nc_total = 0, cc_total = 0;
  for (const Root& r : roots) root_total += r.weight;
  for (const Function& fn : fns) tt_total += fn.tt, nc_total += fn.nc, cc_total += std::max(0.0, fn.cc);
  // Counts are 64-bit integers: refuse totals no profile reaches (a corrupt number) rather than overflow.
  if (tt_total * factor > 1e17 || nc_total > 1e17 || root_total * factor > 1e17)
    doc.fail(0, "times or call counts too large to count (total tottime " + format("%g", tt_total) + " s, " +
                    format("%g", nc_total) + " calls)");
  if (std::fabs(root_total - tt_total) > 0.01 * tt_total && std::fabs(root_total - tt_total) * factor > 1)
    report.warnings.push_back(
        doc.source() + ": the roots' cumulative time (" + seconds_text(root_total) +
        ") differs from the sum of tottime (" + seconds_text(tt_total) +
        "): threads (Python 3.12+) or code that calls sys.setprofile; every function keeps its tottime");

  // Amounts under half a count, or under the --prune share of the total (1e-5 at least: finer detail is not worth
  // the stacks it makes), are not split between callers.
  const double amount_total = by_calls ? cc_total : tt_total;
  const double threshold = std::max(by_calls ? 0.5 : 0.5 / factor, std::max(options.prune, 1e-5) * amount_total);
  Tree tree(fns, options);
  Rebuild rebuild(graph, roots, options, threshold, tree);
  // The largest amounts first: they are shared in proportion to the edges; smaller ones fit in the room left.
  std::vector<std::uint32_t> order;
  for (std::uint32_t f = 0; f < fns.size(); ++f)
    if ((by_calls ? fns[f].cc : fns[f].tt) > 0) order.push_back(f);
  auto amount_of = [&](std::uint32_t f) { return by_calls ? fns[f].cc : fns[f].tt; };
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return amount_of(a) != amount_of(b) ? amount_of(a) > amount_of(b) : a < b;
  });
  for (std::uint32_t f : order) rebuild.place(f, amount_of(f));

  if (amount_total > 0 && rebuild.caller_unknown > 0.01 * amount_total)
    report.warnings.push_back(doc.source() + ": " + format("%.1f", 100 * rebuild.caller_unknown / amount_total) +
                              "% of the " + (by_calls ? "calls" : "self time") +
                              " could not be placed under a caller within the dump's edge times: drawn under "
                              "[caller unknown]");
  std::vector<double> function_amount(fns.size());
  for (std::size_t f = 0; f < fns.size(); ++f) function_amount[f] = amount_of(std::uint32_t(f));
  tree.finish(options.prune * amount_total, function_amount);
  std::vector<double> values(tree.out.size());
  const double scale = by_calls ? 1.0 : factor;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = tree.out[i].amount * scale;
  const long long target = std::llround(amount_total * scale);
  tree.write(round_by_group(values, tree.groups(), std::uint32_t(fns.size()) + 1, target), sink);
  return report;
}

}  // namespace pyfold::collapse
