#include "pyfold/render/pprof.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>
#include <unordered_map>

#include "pyfold/folded.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/render/proto_writer.hpp"
#include "pyfold/stack_ids.hpp"
#include "pyfold/string_table.hpp"
#include "pyfold/text.hpp"

namespace pyfold {

namespace {

// profile.proto's field numbers (only those we write).
namespace field {
constexpr std::uint32_t profile_sample_type = 1, profile_sample = 2, profile_location = 4, profile_function = 5,
                        profile_string_table = 6, profile_time_nanos = 9, profile_duration_nanos = 10,
                        profile_period_type = 11, profile_period = 12;
constexpr std::uint32_t value_type_type = 1, value_type_unit = 2;
constexpr std::uint32_t sample_location_id = 1, sample_value = 2, sample_label = 3;
constexpr std::uint32_t label_key = 1, label_str = 2;
constexpr std::uint32_t location_id = 1, location_line = 4;
constexpr std::uint32_t line_function_id = 1, line_line = 2;
// system_name (3) stays empty: Python names are not mangled, and pprof would run its C++ demangler over them.
constexpr std::uint32_t function_id = 1, function_name = 2, function_filename = 4;
}  // namespace field

}  // namespace

struct PprofBuilder::State {
  PprofOptions options;
  // String table: index 0 is "", as profile.proto requires.
  StringTable strings;

  struct Function {
    std::uint64_t name, file;
  };
  std::vector<Function> functions;  // id = index + 1
  StringTable function_keys;        // name \0 file -> index
  struct Location {
    std::uint64_t function, line;
  };
  std::vector<Location> locations;       // id = index + 1
  StringTable location_keys;             // function id, line (as text) -> index
  StringTable texts;                     // frame text -> text id
  std::vector<std::uint64_t> location_of_text;  // text id -> location id

  State() { strings.intern(std::string_view()); }

  std::uint64_t key_thread = 0, key_process = 0;
  ProtoWriter samples;  // every Sample field of the Profile, encoded as they come
  ProtoWriter sample, packed;
  StackIds<std::uint64_t> stack_ids;  // the location ids of a stack, root first
  double total = 0;
  bool rounded = false;

  std::uint64_t intern_string(std::string_view text) { return strings.intern(text); }

  std::uint64_t intern_frame(std::string_view text) {
    StringTable::Id id = texts.intern(text);
    if (id < location_of_text.size()) return location_of_text[id];
    OutputFrame fields = output_frame(text);
    std::uint64_t function = function_keys.intern(fields.function_key()) + 1;
    if (function > functions.size())
      functions.push_back(Function{intern_string(fields.name), intern_string(fields.file)});
    std::string location_key = std::to_string(function) + ":" + std::to_string(fields.line);
    std::uint64_t location = location_keys.intern(location_key) + 1;
    if (location > locations.size()) locations.push_back(Location{function, fields.line});
    location_of_text.push_back(location);
    return location;
  }

  void add_label(std::uint64_t key, std::string_view value) {
    ProtoWriter label;
    label.int_field(field::label_key, static_cast<std::int64_t>(key));
    label.int_field(field::label_str, static_cast<std::int64_t>(intern_string(sanitize_utf8(value))));
    sample.bytes_field(field::sample_label, label.bytes());
  }
};

PprofBuilder::PprofBuilder(const PprofOptions& options) : state_(std::make_unique<State>()) {
  if (options.interval.nanoseconds < 0 || !std::isfinite(options.interval.nanoseconds))
    throw std::invalid_argument("--interval must be a positive duration");
  state_->options = options;
  state_->key_thread = state_->intern_string("thread");
  state_->key_process = state_->intern_string("process");
}

PprofBuilder::~PprofBuilder() = default;

std::size_t PprofBuilder::function_count() const { return state_->functions.size(); }
std::size_t PprofBuilder::location_count() const { return state_->locations.size(); }
double PprofBuilder::total_count() const { return state_->total; }
bool PprofBuilder::rounded() const { return state_->rounded; }

void PprofBuilder::add(std::string_view stack, double count) {
  State& s = *state_;
  while (!stack.empty() && stack.back() == ';') stack.remove_suffix(1);  // as flamegraph.pl's split
  s.sample.clear();
  // The recorder's root frames are labels, not locations.
  std::size_t semi = stack.find(';');
  std::string_view first = stack.substr(0, semi);
  if (is_process_frame(first)) {
    s.add_label(s.key_process, first);
    stack = semi == std::string_view::npos ? std::string_view() : stack.substr(semi + 1);
    semi = stack.find(';');
    first = stack.substr(0, semi);
  }
  if (is_thread_frame(first)) {
    s.add_label(s.key_thread, first);
    stack = semi == std::string_view::npos ? std::string_view() : stack.substr(semi + 1);
  }

  const std::vector<std::uint64_t>& ids =
      s.stack_ids.ids(stack, [&](std::string_view frame) { return s.intern_frame(frame); });

  // Sample: location ids leaf first, packed.
  s.packed.clear();
  for (auto id = ids.rbegin(); id != ids.rend(); ++id) s.packed.varint(*id);
  if (!ids.empty()) s.sample.bytes_field(field::sample_location_id, s.packed.bytes());
  double value = s.options.interval.nanoseconds > 0 ? count * s.options.interval.nanoseconds : count;
  double whole = std::round(value);
  if (whole != value) s.rounded = true;
  s.packed.clear();
  s.packed.varint(static_cast<std::uint64_t>(static_cast<std::int64_t>(whole)));
  s.sample.bytes_field(field::sample_value, s.packed.bytes());
  s.samples.bytes_field(field::profile_sample, s.sample.bytes());
  s.total += count;

}

std::string PprofBuilder::encode() const {
  State& s = *state_;
  bool timed = s.options.interval.nanoseconds > 0;
  const std::string& timed_type = s.options.sample_type.empty() ? "cpu" : s.options.sample_type;
  std::uint64_t type = s.intern_string(timed ? timed_type : "samples");
  std::uint64_t unit = s.intern_string(timed ? "nanoseconds" : "count");
  ProtoWriter value_type;
  value_type.int_field(field::value_type_type, static_cast<std::int64_t>(type));
  value_type.int_field(field::value_type_unit, static_cast<std::int64_t>(unit));

  ProtoWriter out;
  out.bytes_field(field::profile_sample_type, value_type.bytes());
  out.append_raw(s.samples.bytes());
  ProtoWriter message;
  for (std::size_t i = 0; i < s.locations.size(); ++i) {
    ProtoWriter line;
    line.int_field(field::line_function_id, static_cast<std::int64_t>(s.locations[i].function));
    line.int_field(field::line_line, static_cast<std::int64_t>(s.locations[i].line));
    message.clear();
    message.int_field(field::location_id, static_cast<std::int64_t>(i + 1));
    message.bytes_field(field::location_line, line.bytes());
    out.bytes_field(field::profile_location, message.bytes());
  }
  for (std::size_t i = 0; i < s.functions.size(); ++i) {
    message.clear();
    message.int_field(field::function_id, static_cast<std::int64_t>(i + 1));
    message.int_field(field::function_name, static_cast<std::int64_t>(s.functions[i].name));
    message.int_field(field::function_filename, static_cast<std::int64_t>(s.functions[i].file));
    out.bytes_field(field::profile_function, message.bytes());
  }
  for (StringTable::Id id = 0; id < s.strings.size(); ++id) out.bytes_field(field::profile_string_table, s.strings.text(id));
  if (s.options.time_nanos) out.int_field(field::profile_time_nanos, s.options.time_nanos);
  if (s.options.duration_nanos) out.int_field(field::profile_duration_nanos, s.options.duration_nanos);
  out.bytes_field(field::profile_period_type, value_type.bytes());
  out.int_field(field::profile_period, timed ? static_cast<std::int64_t>(std::llround(s.options.interval.nanoseconds))
                                             : 1);
  return std::move(out.mutable_bytes());
}

std::string gzip_compress(std::string_view bytes) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
  out.resize(stream.total_out);
  return out;
}

PprofReport flame_pprof(const PprofOptions& options, const std::vector<std::string>& inputs, const std::string& output) {
  PprofReport report;
  PprofBuilder builder(options);
  InvalidLineLog invalid(options.strict);
  FoldedInputs read = read_folded_lines(inputs, invalid, [&](const FoldedLine& parsed, const auto& where) {
    if (parsed.count > kMaxCount - builder.total_count() ||
        (options.interval.nanoseconds > 0 &&
         (builder.total_count() + parsed.count) * options.interval.nanoseconds > 9.2e18))
      throw InputError(where() + ": the total exceeds what a pprof value (int64) holds; scale the counts down");
    if (parsed.count > 0) builder.add(parsed.stack, parsed.count);
  });
  report.stacks = read.stacks;
  report.invalid_lines = invalid.count();
  add_reading_warnings(read, invalid, "pprof", report.warnings);
  if (builder.rounded()) report.warnings.push_back("fractional values were rounded: pprof values are integers");
  report.functions = builder.function_count();
  report.locations = builder.location_count();
  if (builder.total_count() <= 0) {
    report.empty = true;
    return report;
  }
  std::string proto = builder.encode();
  auto out = OutputSink::open(output);
  bool sink_compresses = output.size() > 3 && output.compare(output.size() - 3, 3, ".gz") == 0;
  out->write(sink_compresses ? std::string_view(proto) : std::string_view(gzip_compress(proto)));
  out->commit();
  return report;
}

}  // namespace pyfold
