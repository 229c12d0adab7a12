#pragma once
// The reader of a pstats dump: its marshal document → one Function per key (file, line, name) with the dump's
// call counts, tottime, cumtime and the edges from its callers.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pyfold/collapse/marshal.hpp"

namespace pyfold::collapse::pstats {

// A caller → callee edge, kept on the callee.
struct Edge {
  std::uint32_t caller;
  double nc, cc, tt, ct;
  bool counted = false;  // an int caller value (the profile module): a call count only, its times are estimates
};

struct Function {
  std::string_view file, name;  // views into the document's bytes
  std::int64_t line = 0;
  double cc = 0, nc = 0, tt = 0, ct = 0;
  std::vector<Edge> callers;  // one edge per caller, in caller order
};

// The functions of the dump (index = function id). Negative times are read as 0, an int caller value's times are
// its share of the callee's, duplicate callers merged, and a function's cumtime raised toward the time of the calls
// it made where its callers' edges have room (see the .cpp). Throws InputError on a malformed dump.
std::vector<Function> read_functions(const marshal::Document& doc);

// The steps both readers (this one and pstats_direct) share. share_counted_times: once fn's own numbers are all
// read, the times of the int callers one key gave it (callers begin to end) as their share of fn's (counted_calls:
// that key's int calls from other functions).
// finish_functions: once all are read, duplicate callers merged and cumtimes raised toward the calls made.
void share_counted_times(Function& fn, std::uint32_t f, double counted_calls, std::size_t begin, std::size_t end);
void finish_functions(std::vector<Function>& functions);

}  // namespace pyfold::collapse::pstats
