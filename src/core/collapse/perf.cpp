// perf script -> folded stacks. Each rule below is stackcollapse-perf.pl's (brendangregg/FlameGraph), written as
// plain byte scans instead of its regexes; the comments quote the regex each scan stands for.
#include "pyfold/collapse/perf.hpp"

#include <string.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "pyfold/frame_text.hpp"
#include "pyfold/line_reader.hpp"
#include "pyfold/open_table.hpp"
#include "pyfold/string_table.hpp"

namespace pyfold::collapse {
namespace {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_word(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_hex_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
inline bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

struct Header {
  std::string_view comm, pid, tid;  // pid "?" when the line has only one number (a TID)
};

// /^(\S.+?)\s+(\d+)\/*(\d+)*\s+/ : the shortest comm (two bytes at least) followed by "PID[/TID] ".
bool parse_header(std::string_view line, Header& h) {
  if (line.size() < 4 || is_space(line[0])) return false;
  for (std::size_t e = 2; e < line.size(); ++e) {
    std::size_t p = e;
    if (!is_space(line[p])) continue;
    while (p < line.size() && is_space(line[p])) ++p;
    std::size_t digits = p;
    while (p < line.size() && is_digit(line[p])) ++p;
    if (p == digits) continue;
    std::string_view first = line.substr(digits, p - digits);
    while (p < line.size() && line[p] == '/') ++p;
    std::size_t second = p;
    while (p < line.size() && is_digit(line[p])) ++p;
    if (p >= line.size() || !is_space(line[p])) continue;
    h.comm = line.substr(0, e);
    if (p > second) {
      h.pid = first;
      h.tid = line.substr(second, p - second);
    } else {
      h.pid = "?";
      h.tid = first;
    }
    return true;
  }
  return false;
}

// /:\s*(\d+)*\s+(\S+):\s*$/ : "...: PERIOD EVENT:" at the end of a header. period is empty when absent.
bool parse_event(std::string_view line, std::string_view& period, std::string_view& event) {
  std::size_t end = line.size();
  while (end > 0 && is_space(line[end - 1])) --end;
  if (end == 0 || line[end - 1] != ':') return false;
  std::size_t event_end = end - 1, event_start = event_end;
  while (event_start > 0 && !is_space(line[event_start - 1])) --event_start;
  if (event_start == event_end || event_start == 0) return false;
  std::size_t p = event_start;
  while (p > 0 && is_space(line[p - 1])) --p;  // \s+ (at least one: event_start > 0 and line[event_start-1] is space)
  std::size_t digits_end = p;
  while (p > 0 && is_digit(line[p - 1])) --p;
  std::size_t digits_start = p;
  while (p > 0 && is_space(line[p - 1])) --p;
  if (p > 0 && line[p - 1] == ':') {
    period = line.substr(digits_start, digits_end - digits_start);
    event = line.substr(event_start, event_end - event_start);
    return true;
  }
  return false;  // (without the digits the scan above already looked for ':' before the spaces)
}

// A header's last word is the event name and a colon: "... cpu-clock: " (with or without a timestamp before it).
bool ends_with_event(std::string_view line) {
  std::size_t end = line.size();
  while (end > 0 && is_space(line[end - 1])) --end;
  if (end < 2 || line[end - 1] != ':') return false;
  return !is_space(line[end - 2]) && line[end - 2] != ':';
}

// /^\s*(\w+)\s*(.+) \((.*)\)/ : "  ADDRESS SYMBOL (DSO)", the DSO in the last " (...)" of the line.
bool parse_frame_line(std::string_view line, std::string_view& pc, std::string_view& symbol, std::string_view& dso) {
  std::size_t p = 0;
  while (p < line.size() && is_space(line[p])) ++p;
  std::size_t pc_start = p;
  while (p < line.size() && is_word(line[p])) ++p;
  if (p == pc_start) return false;
  pc = line.substr(pc_start, p - pc_start);
  while (p < line.size() && is_space(line[p])) ++p;
  const char* base = line.data();
  std::size_t close = line.size() - 1;  // usually the line ends with the ')'
  if (line[close] != ')') {
    const void* at = memrchr(base + p, ')', line.size() - p);
    if (at == nullptr) return false;
    close = static_cast<std::size_t>(static_cast<const char*>(at) - base);
  }
  if (close < p + 3) return false;
  // The last " (" that leaves at least one byte of symbol before it and has the ')' after it.
  std::size_t open = std::string_view::npos;
  for (std::size_t end = close - 1; end > p + 1;) {
    const void* at = memrchr(base + p + 1, '(', end - p - 1);
    if (at == nullptr) break;
    std::size_t paren = static_cast<std::size_t>(static_cast<const char*>(at) - base);
    if (line[paren - 1] == ' ') {
      open = paren - 1;
      break;
    }
    end = paren;
  }
  if (open == std::string_view::npos || open <= p) {
    // "ADDRESS  (DSO)": no symbol. The regex's \s* gives back a space so that (.+) matches one: the symbol is " ",
    // as stackcollapse-perf.pl names it (and inferno too).
    if (p >= pc_start + pc.size() + 2 && line[p] == '(' && close > p) {
      symbol = line.substr(p - 1, 1);
      dso = line.substr(p + 1, close - p - 1);
      return true;
    }
    return false;
  }
  symbol = line.substr(p, open - p);
  dso = line.substr(open + 2, close - open - 2);
  return true;
}

// s/\+0x[\da-f]+$//
std::string_view strip_offset(std::string_view f) {
  std::size_t end = f.size(), p = end;
  while (p > 0 && is_hex_lower(f[p - 1])) --p;
  if (p < end && p >= 3 && f.substr(p - 3, 3) == "+0x") return f.substr(0, p - 3);
  return f;
}

// m/\.\(.*\)\./ : a Go method name such as net/http.(*Client).Do keeps its parentheses.
bool looks_like_go(std::string_view f) {
  std::size_t open = f.find(".(");
  if (open == std::string_view::npos) return false;
  return f.find(").", open + 2) != std::string_view::npos;
}

// /tmp/perf-\d+\.map
bool is_perf_map(std::string_view dso) {
  std::size_t at = dso.find("/tmp/perf-");
  while (at != std::string_view::npos) {
    std::size_t p = at + 10, digits = p;
    while (p < dso.size() && is_digit(dso[p])) ++p;
    if (p > digits && dso.substr(p, 4) == ".map") return true;
    at = dso.find("/tmp/perf-", at + 1);
  }
  return false;
}

// Bytes that make a symbol need more than a copy: '-' (of "->"), and those the tidying rules change.
constexpr auto kSpecial = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : {'-', '(', ';', '"', '\''}) table[c] = true;
  return table;
}();

struct Frame {
  std::size_t offset, length;
  bool python;
};

// A quick hash of a frame line for the cache below (lines are compared in full on a match, so a weak hash costs
// only probes; hash128 is stronger than needed here and was a fifth of the run time).
std::uint64_t line_hash(std::string_view line) {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = line.size() * k;
  const char* p = line.data();
  std::size_t n = line.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 32;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * k;
  return h ^ (h >> 29);
}

// Frame lines repeat: the same address, symbol and DSO appear in many samples. Their frames are made once and
// looked up by the whole line afterwards (bounded: past kMaxKeyBytes new lines are just not remembered).
class FrameLineCache {
 public:
  using Id = std::uint32_t;
  // The frame names of a line seen before, or nullptr.
  const Id* find(std::string_view line, std::uint64_t hash, std::size_t& count) const {
    const Slot* slot = slots_.find(tag(hash), [&](const Slot& s) { return same_line(s, tag(hash), line); });
    if (slot == nullptr) return nullptr;
    count = slot->frame_count;
    return ids_.data() + slot->first_frame;
  }
  void insert(std::string_view line, std::uint64_t hash, const Id* first, const Id* end) {
    if (keys_.size() + line.size() > kMaxKeyBytes) return;
    if (slots_.capacity() == 0) slots_.reset(4096);
    Slot* where = slots_.probe(tag(hash), [&](const Slot& s) { return same_line(s, tag(hash), line); });
    if (!where->empty()) return;
    Slot slot{tag(hash), static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(line.size()),
              static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(end - first)};
    keys_.append(line);
    ids_.insert(ids_.end(), first, end);
    slots_.occupy(where, slot, [](const Slot& s) { return s.hash; });
  }

 private:
  static constexpr std::size_t kMaxKeyBytes = std::size_t{1} << 28;
  struct Slot {
    std::uint64_t hash;  // with the top bit set: 0 marks a free slot
    std::uint32_t key_offset, key_length, first_frame, frame_count;
    bool empty() const { return hash == 0; }
  };
  static std::uint64_t tag(std::uint64_t hash) { return hash | (std::uint64_t{1} << 63); }
  bool same_line(const Slot& s, std::uint64_t hash, std::string_view line) const {
    return s.hash == hash && s.key_length == line.size() &&
           std::memcmp(keys_.data() + s.key_offset, line.data(), line.size()) == 0;
  }
  OpenTable<Slot> slots_;
  std::string keys_;
  std::vector<Id> ids_;
};

// Frame names interned as numbers: a sample is a short list of numbers until its stack is written.
class FrameNames {
 public:
  using Id = StringTable::Id;
  Id intern(std::string_view text, bool python) {
    Id id = names_.intern(text);
    if (id == python_.size()) python_.push_back(python);
    return id;
  }
  std::string_view name(Id id) const { return names_.text(id); }
  bool python(Id id) const { return python_[id]; }

 private:
  StringTable names_;
  std::vector<bool> python_;
};

class PerfFolder {
 public:
  PerfFolder(const PerfOptions& options, StackSink& sink) : options_(options), sink_(sink) {
    event_filter_ = options.event_filter;
    text_.reserve(1 << 12);
    frames_.reserve(64);
    sample_.reserve(1024);
  }

  void header(std::string_view line, const Header& h) {
    std::string_view period_text, event;
    std::string_view period_digits;
    if (parse_event(line, period_text, event)) {
      period_digits = period_text;
      if (event_filter_.empty()) {
        event_filter_.assign(event);
        event_defaulted_ = true;
      } else if (event != event_filter_) {
        if (event_defaulted_) other_events_ = true;
        return;  // a filtered sample: its frame lines are skipped
      }
    }
    // "if (not $period) { $period = 1 }": no period, and a period of 0, count 1.
    double period = 0;
    for (char c : period_digits) period = period * 10 + (c - '0');
    if (period == 0) period = 1;
    period_ = period;
    comm_.clear();
    comm_.append(h.comm);
    if (options_.tid) {
      comm_ += '-';
      comm_.append(h.pid);
      comm_ += '/';
      comm_.append(h.tid);
    } else if (options_.pid) {
      comm_ += '-';
      comm_.append(h.pid);
    }
    for (char& c : comm_) {
      if (c == ' ') c = '_';
    }
    java_ = starts_with(comm_, "java");
    in_sample_ = true;
    sample_.clear();
    sample_.push_back(names_.intern(comm_, false));
  }

  bool in_sample() const { return in_sample_; }

  // The frames of a line seen before (false: not seen, or not cacheable).
  bool cached_frame(std::string_view line) {
    if (java_) return false;  // java tidying depends on the comm; rare enough not to cache
    line_hash_ = line_hash(line);
    std::size_t count = 0;
    const FrameNames::Id* ids = cache_.find(line, line_hash_, count);
    if (!ids) return false;
    sample_.insert(sample_.end(), ids, ids + count);
    return true;
  }

  void frame(std::string_view pc, std::string_view symbol, std::string_view dso, std::string_view line) {
    frames_.clear();
    text_.clear();
    add_frames(pc, symbol, dso);
    std::size_t first = sample_.size();
    for (const Frame& f : frames_)
      sample_.push_back(names_.intern(std::string_view(text_).substr(f.offset, f.length), f.python));
    if (!java_) cache_.insert(line, line_hash_, sample_.data() + first, sample_.data() + sample_.size());
  }

  void add_frames(std::string_view pc, std::string_view symbol, std::string_view dso) {
    symbol = strip_offset(symbol);
    if (!symbol.empty() && symbol[0] == '(') return;  // "next if $rawfunc =~ /^\(/": process names
    // Frames of one line ("a->b" inline chains) are kept in line order; lines come leaf first, so groups are
    // stored reversed and read backwards at the end.
    std::size_t group_start = frames_.size();
    if (starts_with(symbol, "py::")) {
      std::string_view rest = symbol.substr(4);
      std::size_t colon = rest.find(':');
      std::size_t offset = text_.size();
      if (colon == std::string_view::npos) {
        append_frame_text(text_, rest, std::string_view(), 0);
      } else {
        append_frame_text(text_, rest.substr(0, colon), rest.substr(colon + 1), 0);
      }
      frames_.push_back({offset, text_.size() - offset, true});
      return;
    }
    // One scan for what needs work: "->" inline chains, and bytes the tidying rules change.
    bool chain = false, plain = true;
    for (std::size_t i = 0; i < symbol.size(); ++i) {
      if (!kSpecial[static_cast<unsigned char>(symbol[i])]) continue;
      char c = symbol[i];
      if (c == '-') {
        if (i + 1 < symbol.size() && symbol[i + 1] == '>') chain = true;
      } else {
        plain = false;
      }
    }
    if (!chain) {
      add_part(symbol, pc, dso, 0, plain);
      return;
    }
    std::size_t index = 0;
    std::size_t pos = 0;
    // perl's split drops trailing empty fields.
    std::size_t limit = symbol.size();
    while (limit >= 2 && symbol.substr(limit - 2) == "->") limit -= 2;
    symbol = symbol.substr(0, limit);
    while (pos <= symbol.size()) {
      std::size_t arrow = symbol.find("->", pos);
      std::string_view part = symbol.substr(pos, arrow == std::string_view::npos ? std::string_view::npos : arrow - pos);
      add_part(part, pc, dso, index++, false);
      if (arrow == std::string_view::npos) break;
      pos = arrow + 2;
    }
    std::reverse(frames_.begin() + static_cast<std::ptrdiff_t>(group_start), frames_.end());
  }

  // A sample's key: its comm and frame names, root first (the frames are stored leaf first after the comm).
  void end_sample() {
    if (!in_sample_) return;
    in_sample_ = false;
    key_.clear();
    key_.push_back(sample_[0]);
    std::size_t n = sample_.size();
    for (std::size_t i = n; i-- > 1;) {
      FrameNames::Id id = sample_[i];
      if (options_.python_only && !names_.python(id) && !(i == 1 && options_.native_leaf)) continue;
      key_.push_back(id);
    }
    std::string_view bytes(reinterpret_cast<const char*>(key_.data()), key_.size() * sizeof(FrameNames::Id));
    auto found = sample_index_.find(bytes);
    if (found != sample_index_.end()) {
      counts_[found->second] += period_;
      return;
    }
    samples_.emplace_back(bytes);
    counts_.push_back(period_);
    sample_index_.emplace(samples_.back(), counts_.size() - 1);
  }

  // Sends every distinct stack, in order of first appearance, with its summed count.
  void finish() {
    std::string stack;
    for (std::size_t i = 0; i < samples_.size(); ++i) {
      const std::string& bytes = samples_[i];
      std::size_t n = bytes.size() / sizeof(FrameNames::Id);
      stack.clear();
      for (std::size_t k = 0; k < n; ++k) {
        FrameNames::Id id;
        std::memcpy(&id, bytes.data() + k * sizeof id, sizeof id);
        if (k > 0) stack += ';';
        stack += names_.name(id);
      }
      sink_.add(stack, counts_[i]);
    }
  }

  std::vector<std::string> warnings() const {
    std::vector<std::string> out;
    if (other_events_)
      out.push_back("perf: kept only events of type " + event_filter_ + " (--event-filter picks another)");
    return out;
  }

 private:
  // plain: part holds none of ( ; " ' (the caller has looked).
  void add_part(std::string_view part, std::string_view pc, std::string_view dso, std::size_t index, bool plain) {
    // Most symbols need no tidying and no annotation: copied as they are.
    bool annotate = index > 0 || options_.kernel || options_.jit || java_;
    if (plain && !annotate && part != "[unknown]") {
      std::size_t offset = text_.size();
      text_.append(part);
      frames_.push_back({offset, part.size(), false});
      return;
    }
    std::string func;
    bool unknown = part == "[unknown]";
    if (unknown) {
      std::string_view name = "unknown";
      if (dso != "[unknown]") {
        std::size_t slash = dso.rfind('/');
        name = slash == std::string_view::npos ? dso : dso.substr(slash + 1);
      }
      func += '[';
      func.append(name);
      if (options_.addrs) {
        func += " <";
        func.append(pc);
        func += '>';
      }
      func += ']';
    } else {
      func.assign(part);
    }
    // tidy_generic: ';' -> ':', everything from the first '(' (but "(anonymous namespace)") dropped unless a Go
    // name, then quotes deleted.
    for (char& c : func) {
      if (c == ';') c = ':';
    }
    if (!looks_like_go(func)) {
      std::size_t p = func.find('(');
      while (p != std::string::npos && std::string_view(func).substr(p, 21) == "(anonymous namespace)")
        p = func.find('(', p + 1);
      if (p != std::string::npos) func.erase(p);
    }
    func.erase(std::remove_if(func.begin(), func.end(), [](char c) { return c == '"' || c == '\''; }), func.end());
    if (java_ && func.find('/') != std::string::npos && !func.empty() && func[0] == 'L') func.erase(0, 1);
    if (index > 0) {
      if (!contains(func, "_[i]")) func += "_[i]";
    } else if ((options_.kernel) && (starts_with(dso, "[") || (dso.size() >= 7 && dso.substr(dso.size() - 7) == "vmlinux")) &&
               !contains(dso, "unknown")) {
      func += "_[k]";
    } else if (options_.jit && is_perf_map(dso)) {
      if (!contains(func, "_[j]")) func += "_[j]";
    }
    std::size_t offset = text_.size();
    text_ += func;
    frames_.push_back({offset, func.size(), false});
  }

  const PerfOptions& options_;
  StackSink& sink_;
  std::string event_filter_;
  bool event_defaulted_ = false, other_events_ = false;
  bool in_sample_ = false, java_ = false;
  double period_ = 1;
  std::string comm_, text_;        // text_: the frames of one line being made
  std::vector<Frame> frames_;       // their places in text_
  std::vector<FrameNames::Id> sample_, key_;  // sample_: comm, then frames leaf first (line groups reversed)
  FrameNames names_;
  FrameLineCache cache_;
  std::uint64_t line_hash_ = 0;
  std::deque<std::string> samples_;  // distinct samples' keys (frame names as bytes), first appearance order
  std::vector<double> counts_;
  std::unordered_map<std::string_view, std::size_t> sample_index_;
};

bool is_comment(std::string_view line) { return !line.empty() && line[0] == '#'; }

}  // namespace

Applicable perf_applicable(std::string_view head) {
  // Complete lines only; a record header, then a frame line or the blank line that ends a record.
  bool after_header = false;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    if (nl == std::string_view::npos) return Applicable::need_more;
    std::string_view line = head.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (is_comment(line)) continue;
    if (!after_header) {
      if (line.empty()) continue;
      Header h;
      std::string_view period, event;
      // Older perf script headers have no timestamp ("java 3244 cpu-clock: "): the line ends with "EVENT:".
      if (!parse_header(line, h) || !(parse_event(line, period, event) || ends_with_event(line)))
        return Applicable::no;
      after_header = true;
      continue;
    }
    if (line.empty()) return Applicable::yes;
    std::string_view pc, symbol, dso;
    if (!parse_frame_line(line, pc, symbol, dso)) return Applicable::no;
    // Frame lines are indented, except in some old perf script output (an unindented hex address).
    bool hex_address = std::all_of(pc.begin(), pc.end(), [](char c) { return is_digit(c) || is_hex_lower(c); });
    return is_space(line[0]) || hex_address ? Applicable::yes : Applicable::no;
  }
  return Applicable::need_more;
}

std::vector<std::string> collapse_perf(InputSource& input, const PerfOptions& options, StackSink& sink,
                                       InvalidLineLog& invalid) {
  PerfFolder folder(options, sink);
  LineReader reader(input);
  std::string_view line;
  Header header;
  std::string_view pc, symbol, dso;
  while (reader.next(line)) {
    if (is_comment(line)) continue;
    if (line.empty()) {
      folder.end_sample();
      continue;
    }
    if (!is_space(line[0]) && parse_header(line, header)) {
      folder.end_sample();  // a header without the blank line before it: the sample before is complete
      folder.header(line, header);
    } else if (folder.in_sample() && folder.cached_frame(line)) {
      continue;
    } else if (parse_frame_line(line, pc, symbol, dso)) {
      if (folder.in_sample()) folder.frame(pc, symbol, dso, line);
    } else {
      invalid.record(reader.source_name(), reader.line_number(), "not a perf script header or frame line");
    }
  }
  folder.end_sample();  // the last sample, when the input does not end with a blank line
  folder.finish();
  return folder.warnings();
}

}  // namespace pyfold::collapse
