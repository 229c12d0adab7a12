// pstats dump → caller graph → folded stacks. Roots by residual calls (SCC sources as a fallback, see
// collapse-formats.md §2.6); then bottom up: each function's own time is placed on stacks that end at it, climbing
// through its callers in proportion to the edges' cumtime within budgets (no edge or function drawn with more than
// its cumtime), so every function's self time is exact; the stacks merged into a tree, small subtrees pruned to a
// "[pruned]" child, and integer counts whose sum is exactly Σ tottime in the unit. pyfold-collapse(1) says what the
// result guarantees. The steps live apart: pstats_direct (the usual dump → functions, straight from its bytes),
// pstats_reader (any other dump, through marshal's generic reader), pstats_graph (callees, roots), pstats_rebuild
// (the placing), pstats_tree (merging, pruning, lines).
#include "pyfold/collapse/pstats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "pyfold/collapse/marshal.hpp"
#include "pyfold/collapse/pstats_direct.hpp"
#include "pyfold/collapse/pstats_graph.hpp"
#include "pyfold/collapse/pstats_reader.hpp"
#include "pyfold/collapse/pstats_rebuild.hpp"
#include "pyfold/collapse/pstats_tree.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/heap_policy.hpp"
#include "pyfold/text.hpp"

namespace pyfold::collapse {

namespace {

using namespace pstats;

bool is_string_code(unsigned char c) {
  c &= 0x7f;
  return c == 'z' || c == 'Z' || c == 'a' || c == 'A' || c == 'u' || c == 't' || c == 's' || c == 'R' || c == 'r' ||
         c == 'c';
}

std::string seconds_text(double s) { return format("%.6f s", s); }

// Integer counts: each value rounded with the remainder carried, and the last counted line takes the final
// correction so the total is exactly the target.
std::vector<long long> round_carrying(const std::vector<double>& values, long long target) {
  std::vector<long long> counts(values.size(), 0);
  double carried = 0;
  long long written = 0;
  std::size_t last = values.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    carried += values[i];
    long long count = std::llround(carried) - written;
    if (count <= 0) continue;
    counts[i] = count;
    written += count;
    last = i;
  }
  if (last < values.size()) {
    counts[last] = std::max(0LL, counts[last] + target - written);
  } else if (target > 0 && !values.empty()) {  // every value under half a count: the largest takes the target
    counts[std::size_t(std::max_element(values.begin(), values.end()) - values.begin())] = target;
  }
  return counts;
}

// Integer counts that keep each group's total (a function's own time; all [pruned] lines are one group) within one
// count of its exact value and the grand total exactly `target`: each group gets its total rounded down, the counts
// left over go to the groups with the largest remainders, and each group's lines are rounded carrying to its total.
std::vector<long long> round_by_group(const std::vector<double>& values, const std::vector<std::uint32_t>& groups,
                                      std::uint32_t group_count, long long target) {
  std::vector<double> exact(group_count, 0);
  for (std::size_t i = 0; i < values.size(); ++i) exact[groups[i]] += values[i];
  std::vector<long long> group_target(group_count);
  long long given = 0;
  std::vector<std::uint32_t> by_remainder;
  for (std::uint32_t g = 0; g < group_count; ++g) {
    group_target[g] = (long long)std::floor(exact[g]);
    given += group_target[g];
    if (exact[g] > 0) by_remainder.push_back(g);
  }
  std::sort(by_remainder.begin(), by_remainder.end(), [&](std::uint32_t a, std::uint32_t b) {
    double ra = exact[a] - std::floor(exact[a]), rb = exact[b] - std::floor(exact[b]);
    return ra != rb ? ra > rb : a < b;
  });
  for (std::size_t k = 0; given < target && !by_remainder.empty(); k = (k + 1) % by_remainder.size())
    ++group_target[by_remainder[k]], ++given;
  // Lines of each group, in output order.
  std::vector<std::uint32_t> start(group_count + 1, 0), order(values.size());
  for (std::uint32_t g : groups) ++start[g + 1];
  for (std::uint32_t g = 0; g < group_count; ++g) start[g + 1] += start[g];
  std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
  for (std::uint32_t i = 0; i < values.size(); ++i) order[fill[groups[i]]++] = i;
  std::vector<long long> counts(values.size(), 0);
  std::vector<double> part;
  for (std::uint32_t g = 0; g < group_count; ++g) {
    if (start[g] == start[g + 1]) continue;
    part.clear();
    for (std::uint32_t k = start[g]; k < start[g + 1]; ++k) part.push_back(values[order[k]]);
    const std::vector<long long> c = round_carrying(part, group_target[g]);
    for (std::uint32_t k = start[g]; k < start[g + 1]; ++k) counts[order[k]] = c[k - start[g]];
  }
  return counts;
}

// An amount to place: a function's own time (or calls).
struct Placed {
  double amount;
  std::uint32_t func;
};

// Largest amount first, functions in order among equal amounts (the order they come in): a radix sort of the
// amounts' bits (positive doubles order as their bits do), a byte a pass, each pass stable. (A comparison sort took
// 2 % of a large dump's time.)
void sort_largest_first(std::vector<Placed>& order) {
  if (order.size() < 2) return;
  std::vector<Placed> other(order.size());
  for (int shift = 0; shift < 64; shift += 8) {
    std::size_t start[257] = {};
    auto digit = [&](const Placed& p) {
      std::uint64_t bits;
      std::memcpy(&bits, &p.amount, sizeof bits);
      return std::size_t(~bits >> shift & 0xff);  // inverted: largest first
    };
    for (const Placed& p : order) ++start[digit(p) + 1];
    if (start[digit(order.front()) + 1] == order.size()) continue;  // one digit for all: nothing moves
    for (std::size_t d = 0; d < 256; ++d) start[d + 1] += start[d];
    for (const Placed& p : order) other[start[digit(p)]++] = p;
    order.swap(other);
  }
}

}  // namespace

Applicable pstats_applicable(std::string_view head) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.empty()) return Applicable::need_more;
  if (byte(0) != 0xfb && byte(0) != 0x7b) return Applicable::no;  // the dict (flagged in Python 3, plain in 2)
  if (head.size() < 2) return Applicable::need_more;
  unsigned char first = byte(1) & 0x7f;
  if (first == '0') return head.size() == 2 ? Applicable::yes : Applicable::no;  // an empty dump
  if (first == ')') {  // Python 3: a small tuple key of 3 items (or the 3.15 marker of 1), then a string
    if (head.size() < 4) return Applicable::need_more;
    if (byte(2) != 3 && byte(2) != 1) return Applicable::no;
    return is_string_code(byte(3)) ? Applicable::yes : Applicable::no;
  }
  if (first == '(') {  // Python 2: a tuple key with a 32-bit size 3, then a string
    if (head.size() < 7) return Applicable::need_more;
    if (byte(2) != 3 || byte(3) != 0 || byte(4) != 0 || byte(5) != 0) return Applicable::no;
    return is_string_code(byte(6)) ? Applicable::yes : Applicable::no;
  }
  return Applicable::no;
}

PstatsReport collapse_pstats(InputSource& input, const PstatsOptions& options, StackSink& sink) {
  PstatsReport report;
  // The tables below are large, and two threads fault them in: see heap_policy.hpp.
  grow_heap_in_large_steps();
  const std::string& source = input.name();
  // A mapped file is read in place; other inputs (standard input, gzip) are read whole first.
  std::string read_bytes;
  std::string_view bytes = input.mapped();
  if (bytes.empty()) {
    char buffer[1 << 16];
    while (std::size_t got = input.read(buffer, sizeof buffer)) read_bytes.append(buffer, got);
    bytes = read_bytes;
  }
  std::vector<Function> fns;
  std::optional<marshal::Document> doc;  // the generic reader's, for any other dump (the functions view its bytes)
  if (!read_functions_direct(bytes, fns)) fns = read_functions(doc.emplace(std::string(bytes), source));
  const bool by_calls = options.weight == PstatsOptions::Weight::calls;
  const double factor = units_per_second(options.unit);
  const std::vector<Root> roots = find_roots(Graph(fns));  // (the graph's memory is free again for what follows)
  double root_total = 0, tt_total = 0, nc_total = 0, cc_total = 0;
  for (const Root& r : roots) root_total += r.weight;
  for (const Function& fn : fns) tt_total += fn.tt, nc_total += fn.nc, cc_total += std::max(0.0, fn.cc);
  // Counts are 64-bit integers: refuse totals no profile reaches (a corrupt number) rather than overflow.
  if (tt_total * factor > 1e17 || nc_total > 1e17 || root_total * factor > 1e17)
    throw InputError(source + ": offset 0: times or call counts too large to count (total tottime " +
                     format("%g", tt_total) + " s, " + format("%g", nc_total) + " calls)");
  if (std::fabs(root_total - tt_total) > 0.01 * tt_total && std::fabs(root_total - tt_total) * factor > 1)
    report.warnings.push_back(
        source + ": the roots' cumulative time (" + seconds_text(root_total) +
        ") differs from the sum of tottime (" + seconds_text(tt_total) +
        "): threads (Python 3.12+) or code that calls sys.setprofile; every function keeps its tottime");

  // Amounts under half a count, or under the --prune share of the total (1e-5 at least: finer detail is not worth
  // the stacks it makes), are not split between callers.
  const double amount_total = by_calls ? cc_total : tt_total;
  const double threshold = std::max(by_calls ? 0.5 : 0.5 / factor, std::max(options.prune, 1e-5) * amount_total);
  TreeFeed feed(fns, options.max_depth);
  std::optional<Rebuild> rebuild(std::in_place, fns, roots, options, threshold, feed);
  // The largest amounts first: they are shared in proportion to the edges; smaller ones fit in the room left.
  auto amount_of = [&](std::uint32_t f) { return by_calls ? fns[f].cc : fns[f].tt; };
  std::vector<Placed> order;  // the amounts beside their functions: the sort reads no Function
  for (std::uint32_t f = 0; f < fns.size(); ++f)
    if (amount_of(f) > 0) order.push_back(Placed{amount_of(f), f});
  sort_largest_first(order);
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k == order.size() - order.size() / 16) feed.ending_soon();
    rebuild->place(order[k].func, order[k].amount);
  }
  const double caller_unknown = rebuild->caller_unknown;
  // What placing held is free again for the tree's arrays to come (memory touched for the first time costs more
  // than the bytes in it).
  rebuild.reset();
  std::vector<Placed>().swap(order);
  Tree& tree = feed.finish();

  if (amount_total > 0 && caller_unknown > 0.01 * amount_total)
    report.warnings.push_back(source + ": " + format("%.1f", 100 * caller_unknown / amount_total) +
                              "% of the " + (by_calls ? "calls" : "self time") +
                              " could not be placed under a caller within the dump's edge times: drawn under "
                              "[caller unknown]");
  std::vector<double> function_amount(fns.size());
  for (std::size_t f = 0; f < fns.size(); ++f) function_amount[f] = amount_of(std::uint32_t(f));
  tree.finish(options.prune * amount_total, function_amount);
  std::vector<double> values(tree.out.size());
  const double scale = by_calls ? 1.0 : factor;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = tree.out[i].amount * scale;
  const long long target = std::llround(amount_total * scale);
  tree.write(round_by_group(values, tree.groups(), std::uint32_t(fns.size()) + 1, target), sink);
  return report;
}

}  // namespace pyfold::collapse
