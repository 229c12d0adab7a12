#pragma once
// Folded stacks as input (py-spy record --format raw, flamegraph.pl's stackcollapse-* output, our own): each line
// is normalised (empty frames dropped, trailing whitespace and ';' trimmed) and passed on to be merged.
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

// yes when the first line of head that is not blank or a "# " comment is a folded line with one count.
// whole_input: head is the whole input, so its last line is complete even without a line end.
Applicable folded_applicable(std::string_view head, bool whole_input);

// Differential lines (two counts) are invalid here: pyfold diff makes them.
std::vector<std::string> collapse_folded(InputSource& input, StackSink& sink, InvalidLineLog& invalid);

}  // namespace pyfold::collapse
