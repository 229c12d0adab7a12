// libFuzzer entry: the marshal reader and the pstats stack rebuild, on any bytes. The first byte picks the options
// (prune 0 or default, time or calls, exact or not). A clean InputError is the right answer to bad input; a
// result must conserve time: Σ counts equals the sum the rebuild was asked to reach, and every count is positive.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pyfold/collapse/pstats.hpp"
#include "pyfold/diagnostics.hpp"

namespace {
struct Check : pyfold::collapse::StackSink {
  double total = 0;
  void add(std::string_view stack, double count) override {
    if (stack.empty() || !(count >= 1) || count != std::floor(count)) __builtin_trap();
    total += count;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int variant = data[0];
  pyfold::collapse::PstatsOptions options;
  if (variant & 1) options.prune = 0;
  if (variant & 2) options.weight = pyfold::collapse::PstatsOptions::Weight::calls;
  if (variant & 4) options.exact = true;
  if (variant & 8) options.max_depth = 3;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto source = pyfold::InputSource::from_string(bytes, "fuzz");
  Check sink;
  try {
    pyfold::collapse::collapse_pstats(*source, options, sink);
  } catch (const pyfold::InputError&) {
    return 0;
  }
  return 0;
}
