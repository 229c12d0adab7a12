#pragma once
// speedscope's JSON file format (jlfwong/speedscope src/lib/file-format-spec.ts): sampled and evented profiles over
// a shared frame table. Frames with a file and line become `name (file:line)`.
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

struct SpeedscopeInputOptions {
  // --profile: which profile, by 0-based index; -1 the file's activeProfileIndex (or 0); -2 all, merged.
  static constexpr int kActive = -1, kAll = -2;
  int profile = kActive;
  bool threads = false;  // --threads: each profile's name as the root frame
  TimeUnit unit = TimeUnit::us;  // --unit: evented profiles in a time unit give whole counts of this unit
};

// From the first bytes: a JSON object naming speedscope's schema, or holding "shared" and "profiles".
Applicable speedscope_applicable(std::string_view head, bool whole_input);

// Counts are the profile's weights (sampled), or the time between events (evented): whole counts of options.unit
// when the profile's unit is a time (seconds, milliseconds, microseconds, nanoseconds; rounded with the remainder
// carried, so the profile's total is kept), else in the profile's own unit.
// Throws InputError("source: reason") on JSON that is malformed or is not a speedscope file.
std::vector<std::string> collapse_speedscope(InputSource& input, const SpeedscopeInputOptions& options, StackSink& sink);

}  // namespace pyfold::collapse
