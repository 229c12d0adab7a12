#pragma once
// pyflame-speedscope: folded stacks to speedscope's file format (https://www.speedscope.app/file-format-schema.json),
// one sampled profile per thread, samples in input order (time order), written as a stream (no DOM).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/diagnostics.hpp"
#include "pyfold/frame_text.hpp"
#include "pyfold/io.hpp"

namespace pyfold {

// speedscope's ValueUnit enum (the ones that make sense for samples).
enum class WeightUnit { none, nanoseconds, microseconds, milliseconds, seconds, bytes };
const char* unit_name(WeightUnit unit);
// "none", "seconds", ...; returns false for a name speedscope does not know.
bool parse_unit(std::string_view text, WeightUnit& unit);

// How long one count lasts: "1ms", "10us" (or "10µs"), "0.5s", "100ns". Throws std::invalid_argument.
struct SampleInterval {
  double nanoseconds = 0;  // 0: no interval, counts are weights as they are
  WeightUnit unit = WeightUnit::none;  // the unit it was written in
};
SampleInterval parse_interval(std::string_view text);

// Every option of pyflame-speedscope; each default is stated here once (--help prints these).
struct SpeedscopeOptions {
  std::string name;                    // the file's name; "" : the input file's name, or "stdin"
  WeightUnit unit = WeightUnit::none;  // unit of the weights; none: counts (with an interval: the interval's unit)
  SampleInterval interval;             // each count is this long: weights become count * interval in unit
  bool split_threads = true;           // one profile per `process …`/`thread (…)`/`<task> …` root (--no-split: one)
  bool pretty = false;                 // indented output, one line per sample (for reading and golden files)
  bool strict = false;                 // the first invalid line is fatal
};

// Checks the option combinations (an interval needs a time unit); throws std::invalid_argument.
void validate(const SpeedscopeOptions& options);

// A frame's text split into speedscope's fields (parse_frame_text), except that a `thread (…)` root is all name.
FrameParts split_frame(std::string_view text);
// A frame as the speedscope and pprof files hold it: split_frame's fields repaired to valid UTF-8, and the
// function's identity (name \0 file: two texts that differ only in the line are one function).
struct OutputFrame {
  std::string name, file;
  std::uint64_t line = 0;
  std::string function_key() const { return name + '\0' + file; }
};
OutputFrame output_frame(std::string_view text);

// Collects stacks in order, then writes the file. Memory: the unique frames plus one index per frame of each sample.
class SpeedscopeBuilder {
 public:
  explicit SpeedscopeBuilder(const SpeedscopeOptions& options);
  ~SpeedscopeBuilder();
  SpeedscopeBuilder(const SpeedscopeBuilder&) = delete;
  SpeedscopeBuilder& operator=(const SpeedscopeBuilder&) = delete;

  // One stack (frames joined by ';', root first) with its count, in time order.
  void add(std::string_view stack, double count);
  // Writes the speedscope file. name: the file's (and an unsplit profile's) name.
  void write(OutputSink& out, const std::string& name) const;

  std::size_t frame_count() const;
  std::size_t profile_count() const;
  double total_count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct SpeedscopeReport {
  std::uint64_t stacks = 0;         // stack lines read
  std::uint64_t invalid_lines = 0;
  std::size_t frames = 0, profiles = 0;
  bool empty = false;               // no counts at all: nothing was written
  std::vector<std::string> warnings;
};

// The whole stage: reads inputs in order ("-" is stdin; none means stdin), writes the speedscope file to output
// ("" or "-" is stdout). Throws IoError, InputError (strict mode, count overflow) and std::invalid_argument.
SpeedscopeReport flame_speedscope(const SpeedscopeOptions& options, const std::vector<std::string>& inputs,
                                  const std::string& output);

// The default file name: the first input's base name, or "stdin".
std::string default_profile_name(const std::vector<std::string>& inputs);

}  // namespace pyfold
