#pragma once
// pstats dumps (cProfile, profile, yappi, Stats.dump_stats: a marshal file) to folded stacks. The stacks are an
// estimate (pstats keeps only caller → callee edges), built so that every function's self time is its tottime, no
// function or edge is drawn with more than its cumtime, and only edges of the dump appear (pyfold-collapse(1)).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

struct PstatsOptions {
  using Unit = TimeUnit;
  enum class Weight { time, calls };
  double prune = 1e-4;          // --prune REL: subtrees below this share of the total become a "[pruned]" child of
                                // their caller (a function with this share of self time keeps it as a leaf there)
  Unit unit = Unit::us;         // --unit: counts are integer time in this unit; Σ counts = Σ tottime exactly
  Weight weight = Weight::time; // --weight: time, or calls (each function's primitive calls spread over its stacks)
  bool exact = false;           // --exact: a stack goes up only while there is one caller ("[ambiguous callers]")
  std::size_t max_depth = 512;  // deeper stacks keep their root side and their leaf ("[frames cut]" between)
};

// From the first bytes of an input (up to 4 KiB, fewer at its end).
Applicable pstats_applicable(std::string_view head);

struct PstatsReport {
  std::vector<std::string> warnings;  // e.g. the roots' cumulative time disagrees with the sum of tottime
};

// Reads a whole pstats dump from input and sends its stacks to sink (root first, each stack once, in depth-first
// order, integer counts > 0). Throws InputError("source: offset N: reason") on a malformed dump; no partial output
// is sent before the whole dump has been read and checked.
PstatsReport collapse_pstats(InputSource& input, const PstatsOptions& options, StackSink& sink);

}  // namespace pyfold::collapse
