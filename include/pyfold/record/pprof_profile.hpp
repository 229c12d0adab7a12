#pragma once
// pyfold record --format: a profile written as folded stacks (the default) or as pprof (gzip profile.proto, through
// render/pprof's encoder) carrying the sampling period and the profile's real start and duration, as Grafana
// Pyroscope, Parca and `go tool pprof` read it.
#include <string>
#include <string_view>

#include "pyfold/io.hpp"

namespace pyfold::record {

enum class ProfileFormat { folded, pprof };

// "folded" or "pprof"; throws std::invalid_argument otherwise.
ProfileFormat parse_profile_format(const std::string& name);

// What a recorded pprof profile says beyond its stacks.
struct PprofProfileInfo {
  double rate = 0;                  // samples per second: the period is 1/rate, each sample worth it
  std::string sample_type = "cpu";  // "wall" for --mode wall (every thread at every sample), else "cpu"
  double start = 0, end = 0;        // the profile's interval, Unix seconds (time_nanos, duration_nanos)
};

// Writes folded lines (`frame;frame COUNT`, as the recorder writes them) to out as a gzip-compressed pprof
// profile: one sample type SAMPLE_TYPE/nanoseconds, value = count x period. A sink named *.gz compresses
// already. Throws IoError.
void write_pprof_profile(OutputSink& out, std::string_view folded, const PprofProfileInfo& info);

}  // namespace pyfold::record
