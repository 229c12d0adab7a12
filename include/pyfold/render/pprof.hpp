#pragma once
// pyflame-pprof: folded stacks to pprof's profile.proto (github.com/google/pprof/blob/main/proto/profile.proto),
// gzip-compressed, as `go tool pprof`, Grafana Pyroscope and Parca read it. Written by our own small protobuf encoder
// (proto_writer.hpp): the file is a handful of varint and length-delimited fields.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/render/speedscope.hpp"  // SampleInterval, parse_interval, split_frame, the root-frame tests

namespace pyfold {

// Every option of pyflame-pprof; each default is stated here once (--help prints these).
struct PprofOptions {
  SampleInterval interval;  // none: one sample type samples/count; set: cpu/nanoseconds, value = count * interval
  bool strict = false;      // the first invalid line is fatal
  // (pyfold record --format pprof) the timed sample type's name ["" : cpu], and the profile's start (Unix
  // nanoseconds) and length: time_nanos and duration_nanos, written when not 0.
  std::string sample_type;
  std::int64_t time_nanos = 0, duration_nanos = 0;
};

// The profile in memory, encoded as it is read. Frames `func (file:line)` become a function (name, file) and a
// location (function, line), each de-duplicated; the recorder's root frames `process PID:"cmd"` and
// `thread (TID): NAME` become the sample's labels "process" and "thread" (their whole text), not locations.
class PprofBuilder {
 public:
  explicit PprofBuilder(const PprofOptions& options);
  ~PprofBuilder();
  PprofBuilder(const PprofBuilder&) = delete;
  PprofBuilder& operator=(const PprofBuilder&) = delete;

  // One stack (frames joined by ';', root first) with its count.
  void add(std::string_view stack, double count);
  // The uncompressed profile.proto bytes.
  std::string encode() const;

  std::size_t function_count() const;
  std::size_t location_count() const;
  double total_count() const;
  bool rounded() const;  // some value was not a whole number and was rounded

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct PprofReport {
  std::uint64_t stacks = 0;  // stack lines read
  std::uint64_t invalid_lines = 0;
  std::size_t functions = 0, locations = 0;
  bool empty = false;  // no counts at all: nothing was written
  std::vector<std::string> warnings;
};

// gzip (RFC 1952) of bytes, in one piece.
std::string gzip_compress(std::string_view bytes);

// The whole stage: reads inputs in order ("-" is stdin; none means stdin), writes the gzip-compressed profile to
// output ("" or "-" is stdout; a name ending in .gz is compressed by the sink, others here). Throws IoError,
// InputError (strict mode, count overflow) and std::invalid_argument.
PprofReport flame_pprof(const PprofOptions& options, const std::vector<std::string>& inputs, const std::string& output);

}  // namespace pyfold
