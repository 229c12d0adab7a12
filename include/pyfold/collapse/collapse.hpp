#pragma once
// pyfold collapse: inputs of any known format to one merged set of folded stacks. The format registry, the options
// of every format, and the run.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/austin.hpp"
#include "pyfold/collapse/format.hpp"
#include "pyfold/collapse/operations.hpp"
#include "pyfold/collapse/perf.hpp"
#include "pyfold/collapse/pstats.hpp"
#include "pyfold/collapse/speedscope.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

struct CollapseOptions {
  std::string format = "auto";  // --format: auto (from the content), or a format's name
  PerfOptions perf;
  AustinOptions austin;
  SpeedscopeInputOptions speedscope;
  PstatsOptions pstats;
  StackOperations operations;
  OutputOrder order = OutputOrder::automatic;
  bool strict = false;  // --strict: the first invalid line is fatal (exit 2)
};

// One input format. applicable() answers from the input's first bytes (whole_input: they are all of it).
struct Format {
  const char* name;
  Applicable (*applicable)(std::string_view head, bool whole_input);
  // Reads the whole input into sink; returns warnings. Throws InputError on input it cannot read.
  std::vector<std::string> (*collapse)(InputSource& input, const CollapseOptions& options, StackSink& sink,
                                       InvalidLineLog& invalid);
};

// Every format this build reads, in the order --format auto asks them.
const std::vector<Format>& formats();
// "auto, perf, austin, ..." for --help.
std::string format_names();
// The format called name; throws std::invalid_argument for an unknown name (and says so plainly for a format that
// is known but not in this build).
const Format& format_named(std::string_view name);

// An input whose first bytes can be looked at before it is read from the start.
class PeekableInput : public InputSource {
 public:
  explicit PeekableInput(std::unique_ptr<InputSource> inner);
  std::size_t read(char* buffer, std::size_t n) override;
  // At least n bytes of head (fewer at the end of input); false when nothing more could be read.
  bool fill(std::size_t n);
  std::string_view head() const { return head_; }
  bool at_end() const { return eof_; }
  // The inner file's mapping: the head is a copy of its first bytes, so the mapping is this whole input, as long
  // as nothing was read() yet.
  std::string_view mapped() const override { return position_ == 0 ? inner_->mapped() : std::string_view(); }
  void release_mapped_before(std::size_t offset) override { inner_->release_mapped_before(offset); }

 private:
  std::unique_ptr<InputSource> inner_;
  std::string head_;
  std::size_t position_ = 0;
  bool eof_ = false;
};

// The format of input, from its first bytes (reading up to 256 KiB while some format needs more). Throws
// InputError("source: ...") when no format recognises it.
const Format& guess_format(PeekableInput& input);

struct CollapseReport {
  std::vector<std::string> warnings;
  std::uint64_t stacks_read = 0;  // stacks the inputs gave (before filters)
  std::uint64_t stacks_written = 0;
};

// Reads every input ("-" or none: stdin) into one table, applies the operations, writes folded lines to output
// ("" or "-": stdout).
CollapseReport collapse_files(const CollapseOptions& options, const std::vector<std::string>& inputs,
                              const std::string& output);
// The same into a table (pyfold diff reads its two profiles this way).
StackTable collapse_to_table(const CollapseOptions& options, const std::vector<std::string>& inputs,
                             CollapseReport& report, bool* all_perf = nullptr);

struct CollapseCommandLine {
  CollapseOptions options;
  std::vector<std::string> inputs;
  std::string output;
  bool help = false, version = false;
  std::string help_text;
};

// Parses pyfold-collapse's arguments; throws boost::program_options::error or std::invalid_argument.
CollapseCommandLine parse_collapse_command_line(int argc, const char* const* argv);

}  // namespace pyfold::collapse
