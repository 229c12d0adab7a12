// The call graph of a pstats dump and its roots (collapse-formats.md §2.6).
#include "pyfold/collapse/pstats_graph.hpp"

#include <algorithm>
#include <utility>

namespace pyfold::collapse::pstats {

Graph::Graph(const std::vector<Function>& functions) : fns(functions), kid_start(functions.size() + 1, 0) {
  const std::uint32_t n = std::uint32_t(fns.size());
  for (std::uint32_t c = 0; c < n; ++c)
    for (const Edge& e : fns[c].callers)
      if (e.caller != c) ++kid_start[e.caller + 1];
  for (std::uint32_t f = 0; f < n; ++f) kid_start[f + 1] += kid_start[f];
  kids.resize(kid_start[n]);
  std::vector<std::uint32_t> fill(kid_start.begin(), kid_start.end() - 1);
  for (std::uint32_t c = 0; c < n; ++c) {
    const std::vector<Edge>& callers = fns[c].callers;
    for (std::uint32_t e = 0; e < callers.size(); ++e)
      if (callers[e].caller != c) kids[fill[callers[e].caller]++] = Kid{c, e};
  }
}

namespace {

constexpr std::uint32_t kNone = 0xffffffffu;

// Calls into f from outside: all calls less those of its incoming edges.
double residual_calls(const Function& fn) {
  double in_calls = 0;
  for (const Edge& e : fn.callers) in_calls += e.nc;
  return fn.nc - in_calls;
}

// The functions reachable from the roots.
std::vector<char> reached_from(const Graph& g, const std::vector<Root>& roots) {
  std::vector<char> reached(g.size(), 0);
  std::vector<std::uint32_t> todo;
  for (const Root& r : roots) reached[r.func] = 1, todo.push_back(r.func);
  while (!todo.empty()) {
    std::uint32_t f = todo.back();
    todo.pop_back();
    for (const Kid* k = g.kids_begin(f); k != g.kids_end(f); ++k)
      if (!reached[k->callee]) reached[k->callee] = 1, todo.push_back(k->callee);
  }
  return reached;
}

// The strongly connected components of the functions not reached (iterative Tarjan): each function's component,
// and how many there are.
std::pair<std::vector<std::uint32_t>, std::uint32_t> components_of(const Graph& g, const std::vector<char>& reached) {
  const std::uint32_t n = g.size();
  std::vector<std::uint32_t> order(n, kNone), low(n, 0), component(n, kNone);
  std::vector<char> on_stack(n, 0);
  std::vector<std::uint32_t> scc_stack;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> call;  // (function, index of its next kid)
  std::uint32_t counter = 0, components = 0;
  for (std::uint32_t start = 0; start < n; ++start) {
    if (reached[start] || order[start] != kNone) continue;
    call.emplace_back(start, g.kid_start[start]);
    order[start] = low[start] = counter++;
    scc_stack.push_back(start), on_stack[start] = 1;
    while (!call.empty()) {
      auto& [f, next] = call.back();
      if (next < g.kid_start[f + 1]) {
        std::uint32_t c = g.kids[next++].callee;
        if (reached[c]) continue;
        if (order[c] == kNone) {
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
  return {std::move(component), components};
}

// Fallback for the functions the roots do not reach (closed loops, the profile module's fake root): the sources of
// the condensation of the rest, each entered at its member with the largest cumtime.
void add_component_sources(const Graph& g, std::vector<Root>& roots, std::vector<char>& is_root) {
  const std::uint32_t n = g.size();
  const std::vector<char> reached = reached_from(g, roots);
  const auto [component, components] = components_of(g, reached);
  std::vector<char> has_input(components, 0);
  std::vector<std::uint32_t> best(components, kNone);
  for (std::uint32_t f = 0; f < n; ++f) {
    if (reached[f]) continue;
    std::uint32_t cf = component[f];
    if (best[cf] == kNone || g.fns[f].ct > g.fns[best[cf]].ct) best[cf] = f;
    for (const Kid* k = g.kids_begin(f); k != g.kids_end(f); ++k)
      if (!reached[k->callee] && component[k->callee] != cf) has_input[component[k->callee]] = 1;
  }
  for (std::uint32_t cf = 0; cf < components; ++cf) {
    if (has_input[cf]) continue;
    roots.push_back(Root{best[cf], g.fns[best[cf]].ct, std::max(1.0, g.fns[best[cf]].nc)});
    is_root[best[cf]] = 1;
  }
}

}  // namespace

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
      const Edge& edge = g.edge(*k);
      if (is_root[k->callee] || edge.ct <= 0) continue;
      is_root[k->callee] = 1;
      roots.push_back(Root{k->callee, edge.ct, std::max(1.0, edge.nc)});
    }
  }
  return roots;
}

}  // namespace pyfold::collapse::pstats
