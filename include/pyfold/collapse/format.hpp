#pragma once
// What every collapser (one per input format) shares: whether it can read an input, and where its stacks go.
#include <string_view>

namespace pyfold::collapse {

// The unit of counts made from times (--unit): pstats dumps and evented speedscope profiles.
enum class TimeUnit { us, ms, ns };
constexpr double units_per_second(TimeUnit u) { return u == TimeUnit::ms ? 1e3 : u == TimeUnit::ns ? 1e9 : 1e6; }

// A format's answer to "is this input yours?", from the input's first bytes (--format auto).
enum class Applicable { yes, no, need_more };

// Receives stacks: frames root first joined by ';' (each frame already sanitised, see frame_text.hpp), count > 0.
class StackSink {
 public:
  virtual ~StackSink() = default;
  virtual void add(std::string_view stack, double count) = 0;
  // Said before the first add by a format whose stacks all differ from each other (the pstats tree's lines): a sink
  // may then pass them on as they come instead of merging them.
  virtual void stacks_distinct() {}
};

}  // namespace pyfold::collapse
