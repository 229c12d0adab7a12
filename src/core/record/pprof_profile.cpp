#include "pyfold/record/pprof_profile.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "pyfold/folded.hpp"
#include "pyfold/render/pprof.hpp"

namespace pyfold::record {

ProfileFormat parse_profile_format(const std::string& name) {
  if (name == "folded") return ProfileFormat::folded;
  if (name == "pprof") return ProfileFormat::pprof;
  throw std::invalid_argument("--format is folded or pprof, not '" + name + "'");
}

void write_pprof_profile(OutputSink& out, std::string_view folded, const PprofProfileInfo& info) {
  PprofOptions options;
  options.interval.nanoseconds = info.rate > 0 ? 1e9 / info.rate : 0;
  options.interval.unit = WeightUnit::nanoseconds;
  options.sample_type = info.sample_type;
  // (whole seconds apart: a double's nanoseconds since 1970 would be rounded to 256 ns)
  double seconds = std::floor(info.start);
  options.time_nanos = static_cast<std::int64_t>(seconds) * 1000000000 + std::llround((info.start - seconds) * 1e9);
  options.duration_nanos = static_cast<std::int64_t>(std::llround(std::max(0.0, info.end - info.start) * 1e9));
  PprofBuilder builder(options);
  // The recorder's own lines: each is a stack and a whole count (its frame texts may hold anything but a newline).
  while (!folded.empty()) {
    std::size_t end = folded.find('\n');
    std::string_view line = folded.substr(0, end);
    folded.remove_prefix(end == std::string_view::npos ? folded.size() : end + 1);
    FoldedLine parsed;
    std::string_view reason;
    if (parse_folded_line(line, parsed, reason) == LineStatus::stack && parsed.count > 0)
      builder.add(parsed.stack, parsed.count);
  }
  std::string proto = builder.encode();
  const std::string& name = out.name();
  bool sink_compresses = name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
  out.write(sink_compresses ? std::string_view(proto) : std::string_view(gzip_compress(proto)));
}

}  // namespace pyfold::record
