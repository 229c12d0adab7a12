#pragma once
// What pyfold collapse does to stacks from any input: merge identical stacks, rewrite frames (--strip-lines,
// --strip-dirs, --hide-libraries), keep or drop stacks (--include, --exclude, --focus) and order the output.
#include <cstddef>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/io.hpp"
#include "pyfold/string_table.hpp"

namespace pyfold::collapse {

struct StackOperations {
  bool strip_lines = false;     // "f (file.py:12)" -> "f (file.py)"
  bool strip_dirs = false;      // "f (/a/b/file.py:12)" -> "f (file.py:12)", like pstats' strip_dirs
  bool hide_libraries = false;  // runs of standard-library and site-packages frames -> one "[library]" frame
  std::vector<std::string> include;  // keep only stacks with a frame matching one of these (ECMAScript regex)
  std::vector<std::string> exclude;  // drop stacks with a frame matching one of these
  std::string focus;                 // keep stacks through a matching frame, rooted at the outermost one
};

enum class OutputOrder {
  automatic,  // byte order when every input is perf script (as stackcollapse-perf.pl), else first appearance
  sorted,     // --sort: byte order of the stacks
  input,      // --input-order: the input's order, only repeats next to each other merged
};

// Identical stacks merged, counts summed, in order of first appearance. Each distinct stack's text is kept once, in
// an interned-string table (string_table.hpp: one hash of the bytes finds a stack and, when new, files it).
// adjacent_only (--input-order): a stack merges only with the one just before it, so a timeline keeps its order.
class StackTable : public StackSink {
 public:
  explicit StackTable(bool adjacent_only = false) : adjacent_only_(adjacent_only) {}
  bool adjacent_only() const { return adjacent_only_; }
  void add(std::string_view stack, double count) override;
  std::size_t size() const { return counts_.size(); }
  // Valid while the table lives (later adds do not move it).
  std::string_view stack(std::size_t i) const { return texts_.text(text_of(i)); }
  double count(std::size_t i) const { return counts_[i]; }
  double total() const { return total_; }
  // Indexes in byte order of the stacks.
  std::vector<std::size_t> sorted_order() const;

 private:
  // Entry i's text is text i, except with adjacent_only, where a text recurs when its repeats are apart.
  StringTable::Id text_of(std::size_t i) const {
    return adjacent_only_ ? entry_text_[i] : static_cast<StringTable::Id>(i);
  }
  StringTable texts_;
  std::vector<double> counts_;               // an entry's count
  std::vector<StringTable::Id> entry_text_;  // adjacent_only: an entry's text
  double total_ = 0;
  bool adjacent_only_;
};

// The frame-level rewrites and stack filters of StackOperations, compiled once.
class StackTransform {
 public:
  explicit StackTransform(const StackOperations& operations);  // throws std::invalid_argument on a bad regex
  // Rewrites stack into out; false when the stack is dropped. Regexes see the frames as read (before stripping).
  bool apply(std::string_view stack, std::string& out) const;
  bool identity() const { return identity_; }

 private:
  StackOperations ops_;
  std::vector<std::regex> include_, exclude_;
  std::unique_ptr<std::regex> focus_;
  bool identity_;
};

// "f (file.py:12)" -> "f (file.py)"; frames without ":digits)" at their end are returned as they are.
std::string strip_line(std::string_view frame);
// Appends frame with its file's directories removed.
void append_strip_dirs(std::string& out, std::string_view frame);
// Standard library, site-packages or <frozen ...> code (the python palette's classification).
bool is_library_frame(std::string_view frame);

// Applies transform to every stack of in, merging again the stacks it makes equal.
StackTable transform_table(const StackTable& in, const StackTransform& transform);

// Writes "stack count\n" lines in order.
void write_folded(const StackTable& table, bool sorted, OutputSink& out);

}  // namespace pyfold::collapse
