#pragma once
// The folded-stack line, the contract between every pyfold stage:
//   frame;frame;...;frame COUNT          (root first; COUNT an integer or a decimal)
//   frame;frame;...;frame COUNT1 COUNT2  (a differential line: before and after)
// The count is flamegraph.pl's (\d+(\.\d*)?, after the last run of whitespace). Beyond flamegraph.pl, which counts
// them as invalid: blank lines and lines starting with "# " are skipped, CRLF line ends and whitespace after the
// count are accepted, and so are lone-CR line ends (see LineReader).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include <string_view>

#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"
#include "pyfold/stack_tree.hpp"

namespace pyfold {

// Counts are exact integers up to 2^53; a count or a total above it is refused rather than rounded.
constexpr double kMaxCount = 9007199254740992.0;

struct FoldedLine {
  std::string_view stack;
  double count = 0;   // the count; for a differential line the second ("after") count
  double before = 0;  // differential lines: the first count
  bool differential = false;
};

enum class LineStatus { stack, skip, invalid };

// Parses one line (without its line end): the one folded-line parser. On LineStatus::invalid, reason says what is
// wrong. Counts::one reads a line with one count only (a recorder's own lines: a number before it is a frame).
enum class Counts { one_or_two, one };
LineStatus parse_folded_line(std::string_view line, FoldedLine& out, std::string_view& reason,
                             Counts counts = Counts::one_or_two);

// Appends a count as folded text: integers without a decimal point, other values with up to 15 significant digits.
void append_count(std::string& out, double count);
// Appends one folded line, "STACK COUNT\n" or "STACK BEFORE AFTER\n" (a differential line): the one folded writer.
void append_folded_line(std::string& out, std::string_view stack, double count);
void append_folded_line(std::string& out, std::string_view stack, double before, double after);
void append_folded_line(std::string& out, std::string_view stack, std::uint64_t count);

// Reads every line of source into tree. Invalid lines go to invalid (which throws InputError in strict mode).
// reverse puts the leaf first (flamegraph.pl --reverse). Returns the number of stack lines read.
std::uint64_t read_folded(InputSource& source, StackTree& tree, InvalidLineLog& invalid, bool reverse = false);

// Reads every folded line of the inputs ("-", stdin, when there are none), in order, for renderers that take the
// lines one by one: each stack line goes to add(line, where) (where: "FILE:LINE", made only when asked for, as
// for an error); invalid lines go to invalid. Returns the lines read and where the first differential line was.
struct FoldedInputs {
  std::uint64_t stacks = 0;
  std::string differential_at;  // "FILE:LINE" of the first two-count line, or empty
};
FoldedInputs read_folded_lines(const std::vector<std::string>& inputs, InvalidLineLog& invalid,
                               const std::function<void(const FoldedLine&, const std::function<std::string()>&)>& add);
// What a renderer without a differential view warns of after read_folded_lines: the invalid lines, and a
// differential input of which only the second count is used ("speedscope has no differential view").
void add_reading_warnings(const FoldedInputs& read, const InvalidLineLog& invalid, std::string_view format_name,
                          std::vector<std::string>& warnings);

}  // namespace pyfold
