// libFuzzer entry: the text and JSON collapsers (perf script, austin, speedscope, folded) and the stack operations,
// on any bytes. The first byte picks the format and options. A clean InputError is the right answer to bad input;
// every stack written must be a valid folded stack (no empty stack, no line end, a positive finite count).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pyfold/collapse/collapse.hpp"
#include "pyfold/diagnostics.hpp"

namespace {
struct Check : pyfold::collapse::StackSink {
  void add(std::string_view stack, double count) override {
    if (stack.empty() || stack.find('\n') != std::string_view::npos || !(count > 0) || !std::isfinite(count))
      __builtin_trap();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kFormats[] = {"perf", "austin", "speedscope", "folded"};
  const int variant = data[0];
  pyfold::collapse::CollapseOptions options;
  options.perf.python_only = variant & 4;
  options.perf.kernel = options.perf.jit = variant & 8;
  options.perf.addrs = variant & 16;
  options.austin.threads = variant & 32;
  if (variant & 64) options.speedscope.profile = pyfold::collapse::SpeedscopeInputOptions::kAll;
  const pyfold::collapse::Format& format = pyfold::collapse::format_named(kFormats[variant & 3]);
  auto source = pyfold::InputSource::from_string(std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz");
  Check sink;
  pyfold::InvalidLineLog invalid;
  try {
    format.collapse(*source, options, sink, invalid);
  } catch (const pyfold::InputError&) {
  }
  return 0;
}
