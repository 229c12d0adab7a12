#include "pyfold/collapse/speedscope.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cmath>

#include "pyfold/diagnostics.hpp"
#include "pyfold/frame_text.hpp"

namespace pyfold::collapse {
namespace {

using Value = rapidjson::Value;

std::string read_all(InputSource& input) {
  std::string data;
  char buffer[1 << 16];
  for (;;) {
    std::size_t n = input.read(buffer, sizeof buffer);
    if (n == 0) break;
    data.append(buffer, n);
  }
  return data;
}

class Reader {
 public:
  Reader(const std::string& source, StackSink& sink, TimeUnit unit) : source_(source), sink_(sink), unit_(unit) {}

  [[noreturn]] void fail(const std::string& where, const std::string& reason) const {
    throw InputError(source_ + ": " + where + ": " + reason);
  }

  void load_frames(const Value& root) {
    auto shared = root.FindMember("shared");
    if (shared == root.MemberEnd() || !shared->value.IsObject()) fail("shared", "missing, or not an object");
    auto frames = shared->value.FindMember("frames");
    if (frames == shared->value.MemberEnd() || !frames->value.IsArray()) fail("shared.frames", "missing, or not an array");
    rapidjson::SizeType i = 0;
    for (const Value& f : frames->value.GetArray()) {
      std::string where = "shared.frames[" + std::to_string(i++) + "]";
      if (!f.IsObject()) fail(where, "not an object");
      auto name = f.FindMember("name");
      if (name == f.MemberEnd() || !name->value.IsString()) fail(where, "no name");
      std::string_view file;
      long line = 0;
      auto file_member = f.FindMember("file");
      if (file_member != f.MemberEnd() && file_member->value.IsString())
        file = std::string_view(file_member->value.GetString(), file_member->value.GetStringLength());
      auto line_member = f.FindMember("line");
      if (line_member != f.MemberEnd() && line_member->value.IsNumber()) {
        double l = line_member->value.GetDouble();
        if (l > 0 && l < 1e15) line = static_cast<long>(l);
      }
      std::string text;
      append_frame_text(text, std::string_view(name->value.GetString(), name->value.GetStringLength()), file, line);
      if (text.empty()) text = "[unnamed]";
      frames_.push_back(std::move(text));
    }
  }

  std::size_t frame_index(const Value& v, const std::string& where) const {
    if (!v.IsUint() || v.GetUint() >= frames_.size()) fail(where, "not an index into shared.frames");
    return v.GetUint();
  }

  void emit(const std::vector<std::size_t>& path, double weight) {
    if (!(weight > 0) || path.empty()) return;
    stack_ = prefix_;
    for (std::size_t f : path) {
      if (!stack_.empty()) stack_ += ';';
      stack_ += frames_[f];
    }
    sink_.add(stack_, weight);
  }

  void profile(const Value& p, std::size_t index, bool threads) {
    std::string where = "profiles[" + std::to_string(index) + "]";
    if (!p.IsObject()) fail(where, "not an object");
    prefix_.clear();
    if (threads) {
      auto name = p.FindMember("name");
      if (name != p.MemberEnd() && name->value.IsString()) {
        append_sanitized(prefix_, std::string_view(name->value.GetString(), name->value.GetStringLength()));
      }
      if (prefix_.empty()) prefix_ = "profile " + std::to_string(index);
    }
    auto type = p.FindMember("type");
    if (type == p.MemberEnd() || !type->value.IsString()) fail(where, "no type");
    std::string_view kind(type->value.GetString(), type->value.GetStringLength());
    if (kind == "sampled") {
      sampled(p, where);
    } else if (kind == "evented") {
      evented(p, where);
    } else {
      fail(where, "type is neither sampled nor evented");
    }
  }

  void sampled(const Value& p, const std::string& where) {
    auto samples = p.FindMember("samples");
    if (samples == p.MemberEnd() || !samples->value.IsArray()) fail(where + ".samples", "missing, or not an array");
    auto weights = p.FindMember("weights");
    const Value* w = nullptr;
    if (weights != p.MemberEnd()) {
      if (!weights->value.IsArray() || weights->value.Size() != samples->value.Size())
        fail(where + ".weights", "not an array as long as samples");
      w = &weights->value;
    }
    std::vector<std::size_t> path;
    for (rapidjson::SizeType i = 0; i < samples->value.Size(); ++i) {
      const Value& s = samples->value[i];
      std::string at = where + ".samples[" + std::to_string(i) + "]";
      if (!s.IsArray()) fail(at, "not an array");
      path.clear();
      for (const Value& f : s.GetArray()) path.push_back(frame_index(f, at));
      double weight = 1;
      if (w) {
        if (!(*w)[i].IsNumber()) fail(where + ".weights[" + std::to_string(i) + "]", "not a number");
        weight = (*w)[i].GetDouble();
      }
      emit(path, weight);
    }
  }

  // Seconds per unit of an evented profile's "unit" (0: not a time: the counts stay in it).
  static double seconds_per(std::string_view unit) {
    if (unit == "seconds") return 1;
    if (unit == "milliseconds") return 1e-3;
    if (unit == "microseconds") return 1e-6;
    if (unit == "nanoseconds") return 1e-9;
    return 0;
  }

  // An evented profile's intervals as whole counts: each rounded with the remainder carried to the next.
  void emit_time(const std::vector<std::size_t>& path, double time) {
    if (scale_ <= 0) return emit(path, time);
    if (!(time > 0) || path.empty()) return;
    carried_ += time * scale_;
    const double count = std::floor(carried_ + 0.5) - written_;
    if (count <= 0) return;
    written_ += count;
    emit(path, count);
  }

  void evented(const Value& p, const std::string& where) {
    auto unit = p.FindMember("unit");
    scale_ = 0, carried_ = 0, written_ = 0;
    if (unit != p.MemberEnd() && unit->value.IsString()) {
      double s = seconds_per(std::string_view(unit->value.GetString(), unit->value.GetStringLength()));
      if (s > 0) scale_ = s * units_per_second(unit_);
    }
    auto events = p.FindMember("events");
    if (events == p.MemberEnd() || !events->value.IsArray()) fail(where + ".events", "missing, or not an array");
    std::vector<std::size_t> open;
    double last = 0;
    bool started = false;
    for (rapidjson::SizeType i = 0; i < events->value.Size(); ++i) {
      const Value& e = events->value[i];
      std::string at = where + ".events[" + std::to_string(i) + "]";
      if (!e.IsObject()) fail(at, "not an object");
      auto type = e.FindMember("type");
      auto frame = e.FindMember("frame");
      auto time = e.FindMember("at");
      if (type == e.MemberEnd() || !type->value.IsString()) fail(at, "no type");
      if (frame == e.MemberEnd()) fail(at, "no frame");
      if (time == e.MemberEnd() || !time->value.IsNumber()) fail(at, "no time (at)");
      double now = time->value.GetDouble();
      if (started && now < last) fail(at, "events go back in time");
      if (started) emit_time(open, now - last);
      started = true;
      last = now;
      std::size_t f = frame_index(frame->value, at);
      std::string_view kind(type->value.GetString(), type->value.GetStringLength());
      if (kind == "O") {
        open.push_back(f);
      } else if (kind == "C") {
        if (open.empty() || open.back() != f) fail(at, "closes a frame that is not the innermost open one");
        open.pop_back();
      } else {
        fail(at, "type is neither O nor C");
      }
    }
    // Frames still open at the end run until the profile's endValue.
    auto end = p.FindMember("endValue");
    if (!open.empty() && end != p.MemberEnd() && end->value.IsNumber() && end->value.GetDouble() > last)
      emit_time(open, end->value.GetDouble() - last);
  }

 private:
  const std::string& source_;
  StackSink& sink_;
  const TimeUnit unit_;
  std::vector<std::string> frames_;
  std::string prefix_, stack_;
  double scale_ = 0, carried_ = 0, written_ = 0;  // evented time → counts
};

}  // namespace

Applicable speedscope_applicable(std::string_view head, bool whole_input) {
  std::size_t p = head.find_first_not_of(" \t\r\n");
  if (p == std::string_view::npos) return whole_input ? Applicable::no : Applicable::need_more;
  if (head[p] != '{') return Applicable::no;
  if (head.find("speedscope.app/file-format-schema") != std::string_view::npos) return Applicable::yes;
  if (head.find("\"profiles\"") != std::string_view::npos && head.find("\"shared\"") != std::string_view::npos)
    return Applicable::yes;
  return whole_input ? Applicable::no : Applicable::need_more;
}

std::vector<std::string> collapse_speedscope(InputSource& input, const SpeedscopeInputOptions& options, StackSink& sink) {
  std::string data = read_all(input);
  // Iterative parsing: a deeply nested file cannot exhaust the stack.
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(data.data(), data.size());
  if (doc.HasParseError())
    throw InputError(input.name() + ": offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                     rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject()) throw InputError(input.name() + ": not a speedscope file (no JSON object)");
  auto profiles = doc.FindMember("profiles");
  if (profiles == doc.MemberEnd() || !profiles->value.IsArray())
    throw InputError(input.name() + ": not a speedscope file (no profiles array)");
  Reader reader(input.name(), sink, options.unit);
  reader.load_frames(doc);
  std::size_t count = profiles->value.Size();
  std::vector<std::string> warnings;
  if (count == 0) return warnings;
  if (options.profile == SpeedscopeInputOptions::kAll) {
    for (std::size_t i = 0; i < count; ++i)
      reader.profile(profiles->value[static_cast<rapidjson::SizeType>(i)], i, options.threads);
    return warnings;
  }
  std::size_t chosen = 0;
  if (options.profile >= 0) {
    chosen = static_cast<std::size_t>(options.profile);
    if (chosen >= count)
      throw InputError(input.name() + ": --profile " + std::to_string(chosen) + ": the file has " +
                       std::to_string(count) + (count == 1 ? " profile" : " profiles") + " (0-based)");
  } else {
    auto active = doc.FindMember("activeProfileIndex");
    if (active != doc.MemberEnd() && active->value.IsUint() && active->value.GetUint() < count)
      chosen = active->value.GetUint();
  }
  reader.profile(profiles->value[static_cast<rapidjson::SizeType>(chosen)], chosen, options.threads);
  if (count > 1 && options.profile < 0)
    warnings.push_back("speedscope: " + input.name() + ": read profile " + std::to_string(chosen) + " of " +
                       std::to_string(count) + "; --profile all merges them all");
  return warnings;
}

}  // namespace pyfold::collapse
