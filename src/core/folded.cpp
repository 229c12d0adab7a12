#include "pyfold/folded.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "pyfold/batch_queue.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/text.hpp"

namespace pyfold {
namespace {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

enum class CountScan { none, bad, too_large, ok };

// Reads a count that ends at `end` and is preceded by whitespace: \d+(\.\d*)?  Sets `start` to its first byte.
CountScan scan_count(std::string_view text, std::size_t end, std::size_t& start, double& value) {
  std::size_t s = end;
  while (s > 0 && (is_digit(text[s - 1]) || text[s - 1] == '.')) --s;
  if (s == end) return CountScan::none;
  if (s == 0 || !is_space(text[s - 1])) return CountScan::none;
  std::string_view token = text.substr(s, end - s);
  std::size_t dot = token.find('.');
  if (dot == 0 || (dot != std::string_view::npos && token.find('.', dot + 1) != std::string_view::npos))
    return CountScan::bad;
  std::string_view whole = token.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : token.substr(dot + 1);
  // Leading zeros do not count towards the size limit.
  std::size_t first_nonzero = whole.find_first_not_of('0');
  std::size_t significant = first_nonzero == std::string_view::npos ? 0 : whole.size() - first_nonzero;
  if (significant > 16) return CountScan::too_large;
  std::uint64_t integer = 0;
  for (char c : whole) integer = integer * 10 + static_cast<std::uint64_t>(c - '0');
  if (integer > (std::uint64_t{1} << 53)) return CountScan::too_large;
  if (fraction.find_first_not_of('0') == std::string_view::npos) {
    value = static_cast<double>(integer);
  } else {
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || ptr != token.data() + token.size()) return CountScan::bad;
  }
  if (value > kMaxCount) return CountScan::too_large;
  start = s;
  return CountScan::ok;
}

inline std::size_t trim_right(std::string_view text, std::size_t end) {
  while (end > 0 && is_space(text[end - 1])) --end;
  return end;
}

}  // namespace

LineStatus parse_folded_line(std::string_view line, FoldedLine& out, std::string_view& reason, Counts counts) {
  std::size_t end = trim_right(line, line.size());
  if (end == 0) return LineStatus::skip;
  if (line.size() >= 2 && line[0] == '#' && line[1] == ' ') return LineStatus::skip;

  std::size_t start = 0;
  double count = 0;
  switch (scan_count(line, end, start, count)) {
    case CountScan::none: reason = "no count"; return LineStatus::invalid;
    case CountScan::bad: reason = "invalid count"; return LineStatus::invalid;
    case CountScan::too_large: reason = "count too large (the limit is 2^53)"; return LineStatus::invalid;
    case CountScan::ok: break;
  }
  std::size_t stack_end = trim_right(line, start);
  // A last frame that is all whitespace (perf's address-only frame, which stackcollapse-perf.pl names " ":
  // "comm;main;  1") is kept, as flamegraph.pl's /^(.*)\s+?(\d+(?:\.\d*)?)$/ keeps it: one byte before the count
  // goes, the others are the frame.
  if (stack_end > 0 && line[stack_end - 1] == ';' && stack_end < start - 1) stack_end = start - 1;
  if (stack_end == 0) {
    reason = "no stack before the count";
    return LineStatus::invalid;
  }
  out.differential = false;
  out.before = 0;
  out.count = count;
  // A second number before the first makes a differential line: "stack BEFORE AFTER".
  std::size_t start2 = 0;
  double before = 0;
  CountScan second = counts == Counts::one ? CountScan::none : scan_count(line, stack_end, start2, before);
  if (second == CountScan::ok) {
    std::size_t end2 = trim_right(line, start2);
    if (end2 > 0) {
      out.differential = true;
      out.before = before;
      stack_end = end2;
    }
  } else if (second == CountScan::too_large) {
    reason = "count too large (the limit is 2^53)";
    return LineStatus::invalid;
  }
  out.stack = line.substr(0, stack_end);
  return LineStatus::stack;
}

void append_count(std::string& out, double count) {
  char buf[64];
  int n;
  if (count == static_cast<double>(static_cast<std::int64_t>(count)) && count >= 0 && count <= kMaxCount) {
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(count));
    (void)ec;
    n = static_cast<int>(ptr - buf);
  } else {
    n = std::snprintf(buf, sizeof buf, "%.15g", count);
  }
  out.append(buf, static_cast<std::size_t>(n));
}

void append_folded_line(std::string& out, std::string_view stack, double count) {
  out.append(stack);
  out.push_back(' ');
  append_count(out, count);
  out.push_back('\n');
}

void append_folded_line(std::string& out, std::string_view stack, double before, double after) {
  out.append(stack);
  out.push_back(' ');
  append_count(out, before);
  out.push_back(' ');
  append_count(out, after);
  out.push_back('\n');
}

void append_folded_line(std::string& out, std::string_view stack, std::uint64_t count) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, count);
  out.append(stack);
  out.push_back(' ');
  out.append(digits, result.ptr);
  out.push_back('\n');
}

namespace {

// Reading runs on two threads: a reader splits lines and frames, hashes and interns the frame names, and hands
// batches of name numbers to the caller's thread, which grows the tree. Batches keep input order, so the result
// is the same as a single thread's.
struct ParsedLine {
  std::uint64_t number;
  std::size_t first_name, depth, known_shared;
  double count, before;
  bool differential;
  std::string_view invalid_reason;  // empty for a stack line
};

struct Batch {
  std::vector<ParsedLine> lines;
  std::vector<StackTree::NameId> names;
  std::vector<std::uint64_t> path_hashes;  // of each frame's path, so the consumer can prefetch a line ahead
  std::size_t input_bytes = 0;
  bool end = false;
  std::exception_ptr error;
  void clear() {
    lines.clear();
    names.clear();
    path_hashes.clear();
    input_bytes = 0;
  }
};

constexpr std::size_t kBatchBytes = 1 << 20;
constexpr std::size_t kBatchesInFlight = 4;
constexpr std::size_t kPrefetchLines = 1;

void split_into_batches(InputSource& source, StackTree& tree, bool reverse, BatchQueue<Batch>& queue) {
  std::unique_ptr<Batch> batch;
  try {
    LineReader reader(source);
    std::string_view previous;  // the previous stack (the reader keeps it valid), for the shared-prefix test
    std::vector<std::uint64_t> previous_hashes;  // its path hashes
    struct UnsharedFrame {
      std::string_view text;
      std::uint64_t key;
      std::size_t index;  // in batch->names
    };
    std::vector<UnsharedFrame> unshared;
    std::string_view line, reason;
    FoldedLine parsed;
    batch = queue.take_free();
    while (batch && reader.next(line)) {
      batch->input_bytes += line.size() + 1;
      LineStatus status = parse_folded_line(line, parsed, reason);
      if (status != LineStatus::stack) {
        // The reader keeps only the line before the current one valid: a stack further back cannot be compared.
        previous = std::string_view();
        previous_hashes.clear();
      }
      if (status == LineStatus::skip) continue;
      ParsedLine record{reader.line_number(), batch->names.size(), 0, 0, parsed.count, parsed.before,
                        parsed.differential, std::string_view()};
      if (status == LineStatus::invalid) {
        record.invalid_reason = reason;
        batch->lines.push_back(record);
        continue;
      }
      std::string_view stack = parsed.stack;
      while (!stack.empty() && stack.back() == ';') stack.remove_suffix(1);  // as flamegraph.pl's split
      std::size_t common = 0;
      if (!reverse) {
        std::size_t limit = std::min(stack.size(), previous.size());
        common = static_cast<std::size_t>(
            std::mismatch(stack.begin(), stack.begin() + static_cast<std::ptrdiff_t>(limit), previous.begin()).first -
            stack.begin());
      }
      bool sharing = !reverse;
      std::size_t pos = 0;
      while (pos < stack.size()) {
        std::size_t semi = stack.find(';', pos);
        if (semi == std::string_view::npos) semi = stack.size();
        // A frame is the previous stack's too when its bytes and the boundary after it are the same there: the
        // tree reuses the previous stack's name, so it need not be hashed and looked up again.
        sharing = sharing && record.known_shared < previous_hashes.size() && semi <= common &&
                  (semi == previous.size() || previous[semi] == ';');
        if (sharing) {
          batch->path_hashes.push_back(previous_hashes[record.known_shared]);
          ++record.known_shared;
          batch->names.push_back(0);
        } else {
          // Keyed now, interned below: the cache lines of a whole stack's names are fetched at once.
          std::string_view text = stack.substr(pos, semi - pos);
          unshared.push_back(UnsharedFrame{text, tree.name_key(text), batch->names.size()});
          batch->names.push_back(0);
          batch->path_hashes.push_back(0);
        }
        pos = semi + 1;
      }
      for (const UnsharedFrame& frame : unshared) batch->names[frame.index] = tree.intern_name(frame.text, frame.key);
      unshared.clear();
      record.depth = batch->names.size() - record.first_name;
      StackTree::NameId* names = batch->names.data() + record.first_name;
      std::uint64_t* hashes = batch->path_hashes.data() + record.first_name;
      if (reverse) std::reverse(names, names + record.depth);
      std::uint64_t h = record.known_shared > 0 ? hashes[record.known_shared - 1] : StackTree::kRootPathHash;
      for (std::size_t i = record.known_shared; i < record.depth; ++i) hashes[i] = h = StackTree::path_hash(h, names[i]);
      if (!reverse) {
        previous = stack;
        previous_hashes.assign(hashes, hashes + record.depth);
      }
      batch->lines.push_back(record);
      if (batch->input_bytes >= kBatchBytes) {
        queue.put_full(std::move(batch));
        batch = queue.take_free();
      }
    }
    if (!batch) return;  // cancelled by the consumer
  } catch (...) {
    if (!batch) batch = std::make_unique<Batch>();
    batch->error = std::current_exception();
  }
  batch->end = true;
  queue.put_full(std::move(batch));
}

}  // namespace

std::uint64_t read_folded(InputSource& source, StackTree& tree, InvalidLineLog& invalid, bool reverse) {
  BatchQueue<Batch> queue(kBatchesInFlight);
  std::thread reader([&] { split_into_batches(source, tree, reverse, queue); });
  std::uint64_t stacks = 0;
  try {
    for (;;) {
      std::unique_ptr<Batch> batch = queue.take_full();
      for (std::size_t k = 0; k < batch->lines.size(); ++k) {
        const ParsedLine& line = batch->lines[k];
        // While this stack is added, the slots of the one after next arrive: their addresses depend only on names.
        if (k + kPrefetchLines < batch->lines.size()) {
          const ParsedLine& next = batch->lines[k + kPrefetchLines];
          for (std::size_t i = next.known_shared; i < next.depth; ++i)
            tree.prefetch(batch->path_hashes[next.first_name + i]);
        }
        if (!line.invalid_reason.empty()) {
          invalid.record(source.name(), line.number, line.invalid_reason);
          continue;
        }
        // Both sides are integers below 2^53 here, so the subtraction is exact where a sum would round.
        if (line.count > kMaxCount - tree.total_count())
          throw InputError(source.name() + ":" + std::to_string(line.number) +
                           ": the total count exceeds 2^53; scale the counts down");
        tree.add_names(batch->names.data() + line.first_name, batch->path_hashes.data() + line.first_name, line.depth,
                       line.known_shared, line.count,
                       line.differential ? line.count - line.before : 0.0, line.differential);
        ++stacks;
      }
      if (batch->error) std::rethrow_exception(batch->error);
      if (batch->end) break;
      queue.put_free(std::move(batch));
    }
  } catch (...) {
    queue.cancel();
    reader.join();
    throw;
  }
  reader.join();
  return stacks;
}

FoldedInputs read_folded_lines(const std::vector<std::string>& inputs, InvalidLineLog& invalid,
                               const std::function<void(const FoldedLine&, const std::function<std::string()>&)>& add) {
  FoldedInputs read;
  std::vector<std::string> sources = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  for (const std::string& path : sources) {
    auto source = InputSource::open(path);
    LineReader reader(*source);
    std::string_view line, reason;
    FoldedLine parsed;
    const std::function<std::string()> where = [&] { return source->name() + ":" + std::to_string(reader.line_number()); };
    while (reader.next(line)) {
      LineStatus status = parse_folded_line(line, parsed, reason);
      if (status == LineStatus::skip) continue;
      if (status == LineStatus::invalid) {
        invalid.record(source->name(), reader.line_number(), reason);
        continue;
      }
      if (parsed.differential && read.differential_at.empty()) read.differential_at = where();
      add(parsed, where);
      ++read.stacks;
    }
  }
  return read;
}

void add_reading_warnings(const FoldedInputs& read, const InvalidLineLog& invalid, std::string_view format_name,
                          std::vector<std::string>& warnings) {
  if (invalid.count() > 0) warnings.push_back(invalid.summary());
  if (!read.differential_at.empty())
    warnings.push_back("differential input (two counts per line, first at " + read.differential_at +
                       "): the second count is used; " + std::string(format_name) + " has no differential view");
}

}  // namespace pyfold
