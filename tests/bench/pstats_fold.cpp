// pstats-fold FILE [PRUNE]: a pstats dump to folded lines on stdout through collapse_pstats, for the benchmark
// (tests/bench/pstats.sh) until `pyfold collapse --format pstats` is built; warnings go to stderr.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "pyfold/collapse/pstats.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/folded.hpp"

namespace {
struct Print : pyfold::collapse::StackSink {
  std::string out;
  void add(std::string_view stack, double count) override {
    out.append(stack);
    out += ' ';
    out += std::to_string(static_cast<long long>(count));
    out += '\n';
  }
};
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: pstats-fold FILE [PRUNE]\n";
    return 2;
  }
  pyfold::collapse::PstatsOptions options;
  if (argc > 2) options.prune = std::atof(argv[2]);
  try {
    auto input = pyfold::InputSource::open(argv[1]);
    Print sink;
    auto report = pyfold::collapse::collapse_pstats(*input, options, sink);
    std::fwrite(sink.out.data(), 1, sink.out.size(), stdout);
    for (auto& w : report.warnings) std::cerr << "pstats-fold: " << w << '\n';
  } catch (const std::exception& e) {
    std::cerr << "pstats-fold: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
