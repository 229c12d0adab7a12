#pragma once
// The usual shape of a pstats dump read straight from its bytes into the function table, without a
// marshal::Document: Python 3's marshal of a dict of (file, line, name) keys to (cc, nc, tt, ct, callers) tuples,
// with strings, ints, floats and refs. Each string is hashed once (refs reuse it) and not interned: a key is found
// by its texts' hashes and line, then its bytes.
// This is most of the time of reading a large dump; the generic reader builds a tree of every object first.
#include <string_view>
#include <vector>

#include "pyfold/collapse/pstats_reader.hpp"

namespace pyfold::collapse::pstats {

// The same table as read_functions(marshal::Document(bytes)), with views into bytes. False at anything else
// (Python 2 strings, code objects, longs, other containers or markers, a malformed dump): the caller then reads the
// dump with the generic reader, which also says what is wrong.
bool read_functions_direct(std::string_view bytes, std::vector<Function>& functions);

}  // namespace pyfold::collapse::pstats
