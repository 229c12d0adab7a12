#pragma once
// Helpers for the collapser tests: run a collapser on a string, get "stack count" lines back.
#include <string>
#include <vector>

#include "pyfold/collapse/operations.hpp"
#include "pyfold/folded.hpp"

namespace collapse_test {

inline std::vector<std::string> lines(const pyfold::collapse::StackTable& table) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    std::string line(table.stack(i));
    line += ' ';
    pyfold::append_count(line, table.count(i));
    out.push_back(line);
  }
  return out;
}

}  // namespace collapse_test
