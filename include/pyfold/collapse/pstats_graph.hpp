#pragma once
// The call graph of a pstats dump read the other way round (caller → callees), and its roots: the functions
// entered from outside the profiled code, with the strongly connected components' sources as a fallback.
#include <cstdint>
#include <vector>

#include "pyfold/collapse/pstats_reader.hpp"

namespace pyfold::collapse::pstats {

struct Kid {
  std::uint32_t callee;
  std::uint32_t edge;  // the edge in the callee's callers (8 bytes a kid: the graph is read once, mostly its callees)
};

// Each function's callees (compressed rows) in the order the dump lists them, self edges left out.
struct Graph {
  const std::vector<Function>& fns;
  std::vector<std::uint32_t> kid_start;
  std::vector<Kid> kids;

  explicit Graph(const std::vector<Function>& functions);
  std::uint32_t size() const { return std::uint32_t(fns.size()); }
  const Kid* kids_begin(std::uint32_t f) const { return kids.data() + kid_start[f]; }
  const Kid* kids_end(std::uint32_t f) const { return kids.data() + kid_start[f + 1]; }
  const Edge& edge(const Kid& k) const { return fns[k.callee].callers[k.edge]; }
};

struct Root {
  std::uint32_t func;
  double weight;          // seconds
  double calls;           // calls from outside the profiled code (for --weight calls)
  bool replaced = false;  // a root without time, replaced by its callees: not expanded
};

// Roots: functions entered from outside the profiled code (residual calls), weighted by the time their callers do
// not already account for; then the sources of the condensation of what they do not reach; then roots without time
// replaced by their callees (collapse-formats.md §2.6).
std::vector<Root> find_roots(const Graph& g);

}  // namespace pyfold::collapse::pstats
