// pstats dump → function table: the dict of (file, line, name) keys to (cc, nc, tt, ct, callers) values of
// Lib/pstats.py, as cProfile, profile, yappi and Stats.dump_stats write it (Python 2.7 to 3.15).
#include "pyfold/collapse/pstats_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "pyfold/text.hpp"

namespace pyfold::collapse::pstats {

// An int caller value is a call count only (the profile module, 3.15 sampling): its times are the callee's in
// proportion to the calls. Recursive calls from the function itself are left out of the proportion, because the
// callee's cumtime counts outermost calls only (gprof2dot divides by all calls, which gives a recursive function's
// outside caller a tiny share of its time).
void share_counted_times(Function& fn, std::uint32_t f, double counted_calls, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    Edge& e = fn.callers[i];
    if (e.ct >= 0) continue;
    double denominator = e.caller == f ? fn.nc : counted_calls;
    double share = denominator > 0 ? std::min(1.0, e.nc / denominator) : 0;
    e.tt = fn.tt * share;
    e.ct = fn.ct * share;
    e.counted = true;
  }
}

namespace {

using marshal::Document;
using marshal::Type;
using marshal::Value;
using marshal::ValueId;

struct Key {
  std::string_view file, name;
  std::int64_t line;
  bool operator==(const Key& o) const { return line == o.line && file == o.file && name == o.name; }
};
struct KeyHash {
  std::size_t operator()(const Key& k) const {
    return hash_bytes(k.file) * 31 + hash_bytes(k.name) * 7 + std::size_t(k.line);
  }
};

class Reader {
 public:
  explicit Reader(const Document& doc) : doc_(doc) {}

  std::vector<Function> functions;

  // Pass 1: the functions (keys); pass 2: their callers, which may name functions defined later.
  void read() {
    const Value& root = doc_[doc_.root()];
    if (root.type != Type::dict) doc_.fail(root.offset, "not a pstats dump: the top-level object is not a dict");
    functions.reserve(root.size);
    index_.reserve(root.size);
    by_name_id_.assign(doc_.value_count(), kNoFunction);
    const std::vector<std::int64_t> index_of_entry = read_keys(root);
    for (std::uint32_t k = 0; k < root.size; ++k)
      if (index_of_entry[k] >= 0) read_callers(std::uint32_t(index_of_entry[k]), doc_.items(root)[2 * k + 1]);
  }

 private:
  // Each entry's function and its own numbers; -1 for a key that is no function.
  std::vector<std::int64_t> read_keys(const Value& root) {
    const ValueId* items = doc_.items(root);
    std::vector<std::int64_t> index_of_entry(root.size, -1);
    for (std::uint32_t k = 0; k < root.size; ++k) {
      const Value& key = doc_[items[2 * k]];
      if (key.type == Type::tuple && key.size != 3) continue;  // e.g. the 3.15 sampling marker ("__sampled__",)
      std::uint32_t f = function_for_key(items[2 * k]);
      index_of_entry[k] = f;
      const Value& value = doc_[items[2 * k + 1]];
      if (value.type != Type::tuple || value.size != 5)
        doc_.fail(value.offset, "a pstats value is a 5-tuple (cc, nc, tt, ct, callers)");
      const ValueId* stat = doc_.items(value);
      Function& fn = functions[f];
      fn.cc += number(stat[0]);
      fn.nc += number(stat[1]);
      fn.tt += std::max(0.0, number(stat[2]));  // the profile module's bias calibration can make times negative
      fn.ct += std::max(0.0, number(stat[3]));
    }
    return index_of_entry;
  }

  void read_callers(std::uint32_t f, ValueId value) {
    const ValueId* stat = doc_.items(doc_[value]);
    const Value& callers = doc_[stat[4]];
    if (callers.type != Type::dict) doc_.fail(callers.offset, "a pstats callers entry is a dict");
    const ValueId* edges = doc_.items(callers);
    double counted_calls = 0;  // int callers: calls from other functions
    const std::size_t begin = functions[f].callers.size();
    functions[f].callers.reserve(begin + callers.size);
    for (std::uint32_t e = 0; e < callers.size; ++e) {
      std::uint32_t caller = function_for_key(edges[2 * e]);
      Edge edge_value = edge(caller, edges[2 * e + 1]);
      if (edge_value.ct < 0 && caller != f) counted_calls += edge_value.nc;
      functions[f].callers.push_back(edge_value);
    }
    share_counted_times(functions[f], f, counted_calls, begin, functions[f].callers.size());
  }

  double number(ValueId id) const {
    if (!doc_.is_number(id)) doc_.fail(doc_[id].offset, "expected a number");
    double d = doc_[id].number;
    if (!std::isfinite(d)) doc_.fail(doc_[id].offset, "number is not finite");
    return d;
  }

  std::string_view text(ValueId id, const char* what) const {
    if (!doc_.is_string(id)) doc_.fail(doc_[id].offset, std::string("expected a string as the ") + what);
    return doc_.text(doc_[id]);
  }

  std::uint32_t function_for_key(ValueId key_id) {
    const Value& key = doc_[key_id];
    if (key.type != Type::tuple || key.size != 3)
      doc_.fail(key.offset, "a pstats key is a 3-tuple (filename, line, function)");
    const ValueId* part = doc_.items(key);
    // Most keys repeat the same string objects (marshal refs): look them up by the name object before hashing text.
    const double line = doc_.is_number(part[1]) ? doc_[part[1]].number : -1.0;
    std::uint32_t& cached = by_name_id_[part[2]];
    if (cached != kNoFunction && key_file_id_[cached] == part[0] && key_line_[cached] == line) return cached;
    std::uint32_t f = function_for_text(part);
    if (f == key_file_id_.size()) {  // a new function: remember the objects of its first key
      key_file_id_.push_back(part[0]);
      key_line_.push_back(line);
    }
    cached = f;
    return f;
  }

  std::uint32_t function_for_text(const ValueId* part) {
    Key k;
    k.file = text(part[0], "file name of a key");
    const double line = number(part[1]);
    if (std::fabs(line) > 1e15) doc_.fail(doc_[part[1]].offset, "line number out of range");
    k.line = std::llround(line);
    const Value& name = doc_[part[2]];
    if (name.type == Type::code) {  // `python -m profile -o`: the top frame is keyed by the script's code object
      // Named by co_name under the key's own file and line ('profile', 0): the script's code object is not the
      // function ('prog.py', 1, '<module>') it runs, which is keyed separately.
      k.name = text(doc_.code(name).name, "name of a code object");
    } else {
      k.name = text(part[2], "function name of a key");
    }
    auto [it, added] = index_.emplace(k, std::uint32_t(functions.size()));
    if (added) {
      functions.emplace_back();
      functions.back().file = k.file;
      functions.back().name = k.name;
      functions.back().line = k.line;
    }
    return it->second;
  }

  // A caller's value: (nc, cc, tt, ct), 4k numbers (old merged files: the groups summed), or an int call count
  // (marked by ct = -1 until read_callers shares out the callee's times).
  Edge edge(std::uint32_t caller, ValueId id) {
    const Value& v = doc_[id];
    Edge e{caller, 0, 0, 0, 0};
    if (doc_.is_number(id)) {
      e.nc = e.cc = std::max(0.0, number(id));
      e.ct = -1;
      return e;
    }
    if (v.type != Type::tuple || v.size == 0 || v.size % 4 != 0)
      doc_.fail(v.offset, "a caller's value is a 4-tuple (nc, cc, tt, ct), 4k numbers or a call count");
    const ValueId* n = doc_.items(v);
    for (std::uint32_t k = 0; k < v.size; k += 4) {
      e.nc += number(n[k]);
      e.cc += number(n[k + 1]);
      e.tt += std::max(0.0, number(n[k + 2]));
      e.ct += std::max(0.0, number(n[k + 3]));
    }
    return e;
  }

  static constexpr std::uint32_t kNoFunction = 0xffffffffu;
  const Document& doc_;
  std::unordered_map<Key, std::uint32_t, KeyHash> index_;
  std::vector<std::uint32_t> by_name_id_;  // name object → the function last found under it
  std::vector<ValueId> key_file_id_;       // per function: the file object and line of its first key
  std::vector<double> key_line_;
};

}  // namespace

namespace {

// Merged dumps may name a caller twice (duplicate keys): one edge per caller.
void merge_duplicate_callers(std::vector<Function>& functions) {
  for (Function& fn : functions) {
    if (fn.callers.size() < 2) continue;
    std::stable_sort(fn.callers.begin(), fn.callers.end(),
                     [](const Edge& a, const Edge& b) { return a.caller < b.caller; });
    std::size_t out = 0;
    for (std::size_t i = 0; i < fn.callers.size(); ++i) {
      if (out > 0 && fn.callers[out - 1].caller == fn.callers[i].caller) {
        Edge& m = fn.callers[out - 1];
        m.nc += fn.callers[i].nc, m.cc += fn.callers[i].cc, m.tt += fn.callers[i].tt, m.ct += fn.callers[i].ct;
        m.counted = m.counted || fn.callers[i].counted;
      } else {
        fn.callers[out++] = fn.callers[i];
      }
    }
    fn.callers.resize(out);
  }
}

// A function that does not call itself was on the stack for at least its own time plus the time of each call it
// made. Some dumps say less: 3.12+ cProfile.run() gives the `<string>` module it execs a cumtime of microseconds
// while the dump's own edge from it to the program's main is the whole run. Its cumtime is raised toward that
// bound, the time added taken by its edges from its callers (shared by calls), each only as far as that caller has
// time for it (its cumtime less its own time and, unless it calls itself, its other calls): two functions under one
// key (namedtuple constructors are all ('<string>', 1, '<lambda>')) make the same contradiction, and there the
// caller has no such time. What cannot be raised goes to `[caller unknown]`.
void raise_cumtime_to_calls(std::vector<Function>& functions) {
  std::vector<double> out_time(functions.size(), 0);
  for (std::uint32_t c = 0; c < functions.size(); ++c)
    for (const Edge& e : functions[c].callers)
      if (e.caller != c && !e.counted) out_time[e.caller] += e.ct;
  for (std::uint32_t f = 0; f < functions.size(); ++f) {
    Function& fn = functions[f];
    const double added = fn.tt + out_time[f] - fn.ct;
    if (fn.cc < fn.nc || !(added > 1e-9 * fn.ct)) continue;  // cc < nc: it calls itself
    double calls = 0;
    for (const Edge& e : fn.callers)
      if (e.caller != f && !e.counted) calls += e.nc;
    if (calls <= 0) continue;
    for (Edge& e : fn.callers) {
      if (e.caller == f || e.counted) continue;
      const Function& c = functions[e.caller];
      const double others = c.cc < c.nc ? 0 : out_time[e.caller] - e.ct;
      const double raise = std::clamp(c.ct - c.tt - others - e.ct, 0.0, added * e.nc / calls);
      e.ct += raise;
      out_time[e.caller] += raise;
      fn.ct += raise;
    }
  }
}

}  // namespace

void finish_functions(std::vector<Function>& functions) {
  merge_duplicate_callers(functions);
  raise_cumtime_to_calls(functions);
}

std::vector<Function> read_functions(const Document& doc) {
  Reader reader(doc);
  reader.read();
  finish_functions(reader.functions);
  return std::move(reader.functions);
}

}  // namespace pyfold::collapse::pstats
