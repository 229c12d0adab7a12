#include "pyfold/render/speedscope.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include "pyfold/folded.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/open_table.hpp"
#include "pyfold/stack_ids.hpp"
#include "pyfold/string_table.hpp"
#include "pyfold/text.hpp"
#include "version.hpp"

namespace pyfold {

namespace {

constexpr const char* kSchema = "https://www.speedscope.app/file-format-schema.json";

double nanoseconds_per(WeightUnit unit) {
  switch (unit) {
    case WeightUnit::nanoseconds: return 1;
    case WeightUnit::microseconds: return 1e3;
    case WeightUnit::milliseconds: return 1e6;
    case WeightUnit::seconds: return 1e9;
    default: return 0;
  }
}

// RapidJSON's output stream over an OutputSink: the writer puts bytes straight into the sink's buffer.
struct SinkStream {
  using Ch = char;
  OutputSink& sink;
  void Put(char c) { sink.put(c); }
  void Flush() {}
};

}  // namespace

const char* unit_name(WeightUnit unit) {
  switch (unit) {
    case WeightUnit::none: return "none";
    case WeightUnit::nanoseconds: return "nanoseconds";
    case WeightUnit::microseconds: return "microseconds";
    case WeightUnit::milliseconds: return "milliseconds";
    case WeightUnit::seconds: return "seconds";
    case WeightUnit::bytes: return "bytes";
  }
  return "none";
}

bool parse_unit(std::string_view text, WeightUnit& unit) {
  for (WeightUnit u : {WeightUnit::none, WeightUnit::nanoseconds, WeightUnit::microseconds, WeightUnit::milliseconds,
                       WeightUnit::seconds, WeightUnit::bytes}) {
    if (text == unit_name(u)) {
      unit = u;
      return true;
    }
  }
  return false;
}

SampleInterval parse_interval(std::string_view text) {
  struct Suffix {
    std::string_view text;
    WeightUnit unit;
  };
  static const Suffix suffixes[] = {{"ns", WeightUnit::nanoseconds}, {"us", WeightUnit::microseconds},
                                    {"\xc2\xb5s", WeightUnit::microseconds}, {"ms", WeightUnit::milliseconds},
                                    {"s", WeightUnit::seconds}};
  for (const Suffix& suffix : suffixes) {
    if (text.size() <= suffix.text.size() || text.substr(text.size() - suffix.text.size()) != suffix.text) continue;
    std::string_view number = text.substr(0, text.size() - suffix.text.size());
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || ptr != number.data() + number.size() || !(value > 0) || !std::isfinite(value)) break;
    return SampleInterval{value * nanoseconds_per(suffix.unit), suffix.unit};
  }
  throw std::invalid_argument("--interval '" + std::string(text) +
                              "': expected a positive number with a unit, such as 1ms, 10us, 100ns or 0.5s");
}

void validate(const SpeedscopeOptions& options) {
  if (options.interval.nanoseconds < 0 || !std::isfinite(options.interval.nanoseconds))
    throw std::invalid_argument("--interval must be a positive duration");
  if (options.interval.nanoseconds > 0 && options.unit == WeightUnit::bytes)
    throw std::invalid_argument("--interval makes weights times: it cannot be used with --unit bytes");
}

FrameParts split_frame(std::string_view text) {
  if (is_thread_frame(text)) return FrameParts{text, {}, {}, 0};  // `thread (0x7f…)` is a name, not a location
  return parse_frame_text(text);
}

OutputFrame output_frame(std::string_view text) {
  FrameParts parts = split_frame(text);
  return OutputFrame{sanitize_utf8(parts.function), sanitize_utf8(parts.file), parts.line};
}

struct SpeedscopeBuilder::State {
  SpeedscopeOptions options;
  // weight = count * interval_ns / unit_ns: one rounding (0.001 * 18 is not 0.018, 18e6 / 1e9 is)
  double interval_ns = 1, unit_ns = 1;
  WeightUnit unit = WeightUnit::none;

  struct Frame {
    std::string name, file;
    std::uint64_t line;
  };
  std::vector<Frame> frames;
  // Frame text -> frame index. Not a StringTable: the text itself is never needed again (the frame keeps its name
  // and file), and the slot gives the frame in one read. Two texts are the same when their lengths and 128-bit
  // hashes are (as in StringTable).
  struct TextSlot {
    Hash128 hash;
    std::uint32_t length, frame_plus_one;  // frame_plus_one 0: a free slot
    bool empty() const { return frame_plus_one == 0; }
  };
  OpenTable<TextSlot> by_text{1 << 12};
  // "name\0file\0line" -> frame index: two texts that split the same way are one frame.
  StringTable by_fields;

  struct Profile {
    std::string name;
    std::vector<std::uint32_t> frames;  // every sample's frame indices, root first, one after another
    std::vector<std::size_t> ends;      // sample i is frames[ends[i-1] .. ends[i])
    std::vector<double> weights;
    double total = 0;  // of the counts; endValue is made from it as a weight is
  };
  std::vector<Profile> profiles;
  std::unordered_map<std::string, std::size_t> profile_by_root;
  std::string last_root;           // the root frames of the last stack, and its profile
  std::size_t last_profile = SIZE_MAX;
  double total_count = 0;

  StackIds<std::uint32_t> stack_frames;  // the frame indices of a stack (without its root frames)

  std::uint32_t intern(std::string_view text) {
    const Hash128 hash = hash128(text);
    TextSlot* slot =
        by_text.probe(hash.low, [&](const TextSlot& t) { return t.hash == hash && t.length == text.size(); });
    if (!slot->empty()) return slot->frame_plus_one - 1;
    if (text.size() > 0xffffffffu) throw std::length_error("frame text longer than 4 GB");
    OutputFrame fields = output_frame(text);
    StringTable::Id frame = by_fields.intern(fields.function_key() + '\0' + std::to_string(fields.line));
    if (frame == frames.size()) frames.push_back(Frame{std::move(fields.name), std::move(fields.file), fields.line});
    by_text.occupy(slot, TextSlot{hash, std::uint32_t(text.size()), frame + 1},
                   [](const TextSlot& t) { return t.hash.low; });
    return frame;
  }

  Profile& profile_for(std::string_view root) {
    if (last_profile != SIZE_MAX && root == last_root) return profiles[last_profile];
    last_root.assign(root);
    auto [slot, added] = profile_by_root.emplace(last_root, profiles.size());
    if (added) {
      profiles.emplace_back();
      std::string name;
      // The profile is named after its roots: `thread (12): MainThread`, or with the process before it.
      std::size_t pos = 0;
      while (pos < root.size()) {
        std::size_t semi = root.find(';', pos);
        if (semi == std::string_view::npos) semi = root.size();
        if (!name.empty()) name += " ";
        name += sanitize_utf8(root.substr(pos, semi - pos));
        pos = semi + 1;
      }
      profiles.back().name = name;
    }
    last_profile = slot->second;
    return profiles[last_profile];
  }
};

SpeedscopeBuilder::SpeedscopeBuilder(const SpeedscopeOptions& options) : state_(std::make_unique<State>()) {
  validate(options);
  State& s = *state_;
  s.options = options;
  s.unit = options.unit;
  if (options.interval.nanoseconds > 0) {
    if (s.unit == WeightUnit::none) s.unit = options.interval.unit;
    s.interval_ns = options.interval.nanoseconds;
    s.unit_ns = nanoseconds_per(s.unit);
  }
}

SpeedscopeBuilder::~SpeedscopeBuilder() = default;

std::size_t SpeedscopeBuilder::frame_count() const { return state_->frames.size(); }
std::size_t SpeedscopeBuilder::profile_count() const { return state_->profiles.size(); }
double SpeedscopeBuilder::total_count() const { return state_->total_count; }

void SpeedscopeBuilder::add(std::string_view stack, double count) {
  State& s = *state_;
  while (!stack.empty() && stack.back() == ';') stack.remove_suffix(1);  // as flamegraph.pl's split
  // The recorder's root frames choose the profile and are not part of the sample.
  std::size_t root_end = 0;
  if (s.options.split_threads) {
    std::size_t semi = stack.find(';');
    std::string_view first = stack.substr(0, semi);
    if (is_process_frame(first)) {
      root_end = semi == std::string_view::npos ? stack.size() : semi + 1;
      semi = stack.find(';', root_end);
      first = stack.substr(root_end, semi == std::string_view::npos ? std::string_view::npos : semi - root_end);
    }
    if (is_thread_frame(first)) {
      root_end = semi == std::string_view::npos ? stack.size() : semi + 1;
      semi = stack.find(';', root_end);
      first = stack.substr(root_end, semi == std::string_view::npos ? std::string_view::npos : semi - root_end);
    }
    // pyfold record --async: the outermost task, one profile for it and the tasks it awaits.
    if (is_task_frame(first)) root_end = semi == std::string_view::npos ? stack.size() : semi + 1;
  }
  std::string_view root = stack.substr(0, root_end);
  while (!root.empty() && root.back() == ';') root.remove_suffix(1);
  State::Profile& profile = s.profile_for(root);
  std::string_view frames = stack.substr(root_end);

  const std::vector<std::uint32_t>& indices =
      s.stack_frames.ids(frames, [&](std::string_view frame) { return s.intern(frame); });
  profile.frames.insert(profile.frames.end(), indices.begin(), indices.end());
  profile.ends.push_back(profile.frames.size());
  double weight = count * s.interval_ns / s.unit_ns;
  profile.weights.push_back(weight);
  profile.total += count;
  s.total_count += count;
}

namespace {

template <typename Writer>
void write_number(Writer& w, double value) {
  if (value >= 0 && value <= kMaxCount && value == std::floor(value)) {
    w.Uint64(static_cast<std::uint64_t>(value));
  } else {
    w.Double(value);
  }
}

template <typename Writer>
void write_string(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

void SpeedscopeBuilder::write(OutputSink& out, const std::string& name) const {
  const State& s = *state_;
  // The busiest profile opens first.
  std::size_t active = 0;
  for (std::size_t i = 1; i < s.profiles.size(); ++i)
    if (s.profiles[i].total > s.profiles[active].total) active = i;
  std::string file_name = sanitize_utf8(name);

  auto emit = [&](auto& w) {
    w.StartObject();
    write_string(w, "$schema", kSchema);
    write_string(w, "exporter", "pyfold@" PYFOLD_VERSION);
    write_string(w, "name", file_name);
    w.Key("activeProfileIndex");
    w.Uint64(active);
    w.Key("shared");
    w.StartObject();
    w.Key("frames");
    w.StartArray();
    for (const State::Frame& frame : s.frames) {
      w.StartObject();
      write_string(w, "name", frame.name);
      if (!frame.file.empty()) write_string(w, "file", frame.file);
      if (frame.line > 0) {
        w.Key("line");
        w.Uint64(frame.line);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.Key("profiles");
    w.StartArray();
    for (const State::Profile& profile : s.profiles) {
      w.StartObject();
      write_string(w, "type", "sampled");
      write_string(w, "name", profile.name.empty() ? file_name : profile.name);
      write_string(w, "unit", unit_name(s.unit));
      w.Key("startValue");
      w.Uint64(0);
      w.Key("endValue");
      write_number(w, profile.total * s.interval_ns / s.unit_ns);
      w.Key("samples");
      w.StartArray();
      std::size_t begin = 0;
      for (std::size_t end : profile.ends) {
        w.StartArray();
        for (std::size_t i = begin; i < end; ++i) w.Uint(profile.frames[i]);
        w.EndArray();
        begin = end;
      }
      w.EndArray();
      w.Key("weights");
      w.StartArray();
      for (double weight : profile.weights) write_number(w, weight);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  };
  SinkStream stream{out};
  if (s.options.pretty) {
    rapidjson::PrettyWriter<SinkStream> writer(stream);
    writer.SetIndent(' ', 1);
    emit(writer);
  } else {
    rapidjson::Writer<SinkStream> writer(stream);
    emit(writer);
  }
  out.put('\n');
}

std::string default_profile_name(const std::vector<std::string>& inputs) {
  if (inputs.empty() || inputs.front() == "-") return "stdin";
  const std::string& path = inputs.front();
  std::size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.empty() ? path : base;
}

SpeedscopeReport flame_speedscope(const SpeedscopeOptions& options, const std::vector<std::string>& inputs,
                                  const std::string& output) {
  SpeedscopeReport report;
  SpeedscopeBuilder builder(options);
  InvalidLineLog invalid(options.strict);
  FoldedInputs read = read_folded_lines(inputs, invalid, [&](const FoldedLine& parsed, const auto& where) {
    // Both sides are integers below 2^53 here, so the subtraction is exact where a sum would round.
    if (parsed.count > kMaxCount - builder.total_count())
      throw InputError(where() + ": the total count exceeds 2^53; scale the counts down");
    builder.add(parsed.stack, parsed.count);
  });
  report.stacks = read.stacks;
  report.invalid_lines = invalid.count();
  add_reading_warnings(read, invalid, "speedscope", report.warnings);
  report.frames = builder.frame_count();
  report.profiles = builder.profile_count();
  if (builder.total_count() <= 0) {
    report.empty = true;
    return report;
  }
  auto out = OutputSink::open(output);
  builder.write(*out, options.name.empty() ? default_profile_name(inputs) : options.name);
  out->commit();
  return report;
}

}  // namespace pyfold
