#include "pyfold/collapse/collapse.hpp"
#include "pyfold/text.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "pyfold/collapse/folded_input.hpp"
#include "pyfold/collapse/pstats.hpp"
#include "pyfold/folded.hpp"

namespace pyfold::collapse {

const std::vector<Format>& formats() {
  static const std::vector<Format> list = {
      // First: a binary format, which no text format mistakes for its own.
      {"pstats", [](std::string_view head, bool) { return pstats_applicable(head); },
       [](InputSource& in, const CollapseOptions& o, StackSink& sink, InvalidLineLog&) {
         return collapse_pstats(in, o.pstats, sink).warnings;
       }},
      {"perf", [](std::string_view head, bool) { return perf_applicable(head); },
       [](InputSource& in, const CollapseOptions& o, StackSink& sink, InvalidLineLog& invalid) {
         return collapse_perf(in, o.perf, sink, invalid);
       }},
      {"austin", [](std::string_view head, bool) { return austin_applicable(head); },
       [](InputSource& in, const CollapseOptions& o, StackSink& sink, InvalidLineLog& invalid) {
         return collapse_austin(in, o.austin, sink, invalid);
       }},
      {"speedscope", speedscope_applicable,
       [](InputSource& in, const CollapseOptions& o, StackSink& sink, InvalidLineLog&) {
         return collapse_speedscope(in, o.speedscope, sink);
       }},
      // Last: many texts of other formats are valid folded lines too.
      {"folded", folded_applicable,
       [](InputSource& in, const CollapseOptions&, StackSink& sink, InvalidLineLog& invalid) {
         return collapse_folded(in, sink, invalid);
       }},
  };
  return list;
}

std::string format_names() {
  std::string names = "auto";
  for (const Format& f : formats()) names += std::string(", ") + f.name;
  return names;
}

const Format& format_named(std::string_view name) {
  for (const Format& f : formats()) {
    if (name == f.name) return f;
  }
  throw std::invalid_argument("unknown --format '" + std::string(name) + "': expected one of " + format_names());
}

PeekableInput::PeekableInput(std::unique_ptr<InputSource> inner)
    : InputSource(inner->name()), inner_(std::move(inner)) {}

bool PeekableInput::fill(std::size_t n) {
  std::size_t before = head_.size();
  while (!eof_ && head_.size() < n) {
    std::size_t old = head_.size();
    head_.resize(n);
    std::size_t got = inner_->read(&head_[old], n - old);
    head_.resize(old + got);
    if (got == 0) eof_ = true;
  }
  return head_.size() > before;
}

std::size_t PeekableInput::read(char* buffer, std::size_t n) {
  if (position_ < head_.size()) {
    std::size_t k = std::min(n, head_.size() - position_);
    std::memcpy(buffer, head_.data() + position_, k);
    position_ += k;
    return k;
  }
  if (eof_) return 0;
  return inner_->read(buffer, n);
}

// What an input's first bytes look like: the first format that says yes, or the bytes themselves.
std::string looks_like(PeekableInput& input) {
  input.fill(4096);
  for (const Format& f : formats())
    if (f.applicable(input.head(), input.at_end()) == Applicable::yes) return std::string("it looks like ") + f.name;
  std::string start;
  for (char c : input.head().substr(0, 24)) {
    auto u = static_cast<unsigned char>(c);
    start += u >= 0x20 && u < 0x7f ? std::string(1, c) : format("\\x%02x", u);
  }
  return "it is none of the formats known (it starts \"" + start + "\")";
}

const Format& guess_format(PeekableInput& input) {
  for (std::size_t size : {std::size_t{4096}, std::size_t{16384}, std::size_t{65536}, std::size_t{262144}}) {
    input.fill(size);
    std::string_view head = input.head();
    bool whole = input.at_end();
    if (whole && head.find_first_not_of(" \t\r\n") == std::string_view::npos) return format_named("folded");
    bool need_more = false;
    for (const Format& f : formats()) {
      Applicable answer = f.applicable(head, whole);
      if (answer == Applicable::yes) return f;
      if (answer == Applicable::need_more) need_more = true;
    }
    if (!need_more || whole) break;
  }
  std::string message = input.name() + ": cannot tell the format of this input (tried";
  for (const Format& f : formats()) message += std::string(" ") + f.name;
  message += ")";
  message += "; name it with --format";
  throw InputError(message);
}

namespace {

// Stacks into the table, counted as they arrive (before the table merges them). With a direct output, a format that
// says its stacks all differ sends them straight to it instead, in their order: the table would neither merge nor
// reorder them, and a large pstats dump's megabytes of lines are then neither hashed nor kept.
struct CountingSink : StackSink {
  StackTable& table;
  std::function<OutputSink&()> direct_output;  // empty: always the table
  bool direct_allowed = false;                 // this input may go direct (set per input)
  bool go_direct = false;                      // its format said its stacks differ
  OutputSink* direct = nullptr;                // opened at the first stack, as the table's output would be
  std::string line;
  std::uint64_t stacks = 0;
  explicit CountingSink(StackTable& t) : table(t) {}
  void stacks_distinct() override {
    go_direct = direct_allowed && stacks == 0;  // then every stack of the input goes direct
  }
  void add(std::string_view stack, double count) override {
    ++stacks;
    if (!go_direct) return table.add(stack, count);
    if (!direct) direct = &direct_output();
    line.clear();
    append_folded_line(line, stack, count);
    direct->write(line);
  }
};

// direct_output: where a single input's distinct stacks may go as they come (see CountingSink), or empty.
StackTable collapse_into(const CollapseOptions& options, const std::vector<std::string>& inputs,
                         CollapseReport& report, bool* all_perf, std::function<OutputSink&()> direct_output) {
  StackTable table(options.order == OutputOrder::input);
  InvalidLineLog invalid(options.strict);
  const Format* fixed = options.format == "auto" ? nullptr : &format_named(options.format);
  std::vector<std::string> paths = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  bool perf_only = true;
  CountingSink sink(table);
  sink.direct_output = std::move(direct_output);
  for (const std::string& path : paths) {
    PeekableInput input(InputSource::open(path));
    const Format& format = fixed ? *fixed : guess_format(input);
    perf_only = perf_only && std::strcmp(format.name, "perf") == 0;
    // Output in byte order (--sort, or perf script input by default) is written after all is read.
    const bool sorted = options.order == OutputOrder::sorted ||
                        (options.order == OutputOrder::automatic && std::strcmp(format.name, "perf") == 0);
    sink.direct_allowed = sink.direct_output && paths.size() == 1 && !sorted;
    // With --format, an input of another format: say which format was expected and what the input looks like.
    std::string expected;
    if (fixed) {
      input.fill(4096);
      if (fixed->applicable(input.head(), input.at_end()) != Applicable::yes)  // said only if reading it fails
        expected = input.name() + ": --format " + fixed->name + " expects " + fixed->name + " input, but " +
                   looks_like(input);
    }
    const std::uint64_t before = sink.stacks;
    try {
      for (std::string& w : format.collapse(input, options, sink, invalid)) report.warnings.push_back(std::move(w));
    } catch (const InputError& e) {
      if (expected.empty()) throw;
      std::string_view cause = e.what();
      if (cause.substr(0, input.name().size() + 2) == input.name() + ": ") cause.remove_prefix(input.name().size() + 2);
      throw InputError(expected + " (read as " + fixed->name + ": " + std::string(cause) + ")");
    }
    if (!expected.empty() && sink.stacks == before) report.warnings.push_back(expected);
  }
  if (invalid.count() > 0) report.warnings.push_back(invalid.summary());
  report.stacks_read = sink.stacks;
  if (all_perf) *all_perf = perf_only;
  return table;
}

}  // namespace

StackTable collapse_to_table(const CollapseOptions& options, const std::vector<std::string>& inputs,
                             CollapseReport& report, bool* all_perf) {
  return collapse_into(options, inputs, report, all_perf, {});
}

CollapseReport collapse_files(const CollapseOptions& options, const std::vector<std::string>& inputs,
                              const std::string& output) {
  StackTransform transform(options.operations);  // regexes checked before any input is read
  CollapseReport report;
  bool all_perf = false;
  std::unique_ptr<OutputSink> out;
  auto open_output = [&]() -> OutputSink& {
    out = OutputSink::open(output);
    return *out;
  };
  StackTable table = collapse_into(options, inputs, report, &all_perf,
                                   transform.identity() ? std::function<OutputSink&()>(open_output) : nullptr);
  if (out) {  // the stacks went straight to the output: every one (a single input, its format's first stack on)
    out->commit();
    report.stacks_written = report.stacks_read;
    return report;
  }
  if (report.stacks_read == 0) return report;
  if (!transform.identity()) {
    table = transform_table(table, transform);
    if (table.size() == 0) report.warnings.push_back("no stack was kept by --include, --exclude or --focus");
  }
  bool sorted = options.order == OutputOrder::sorted || (options.order == OutputOrder::automatic && all_perf);
  out = OutputSink::open(output);
  write_folded(table, sorted, *out);
  out->commit();
  report.stacks_written = table.size();
  return report;
}

}  // namespace pyfold::collapse
