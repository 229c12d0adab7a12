// The bottom-up rebuild of stacks from a pstats call graph (see the header).
#include "pyfold/collapse/pstats_rebuild.hpp"

#include <algorithm>

namespace pyfold::collapse::pstats {

Rebuild::Rebuild(const std::vector<Function>& fns, const std::vector<Root>& roots, const PstatsOptions& options,
                 double threshold, TreeFeed& tree)
    : tree_(tree),
      options_(options),
      threshold_(threshold),
      by_calls_(options.weight == PstatsOptions::Weight::calls) {
  const std::uint32_t n = std::uint32_t(fns.size());
  fn_.assign(n, Fn{0, 0, 0, 0, 0});
  std::vector<double> root_weight(n, 0);
  for (const Root& r : roots) {
    if (r.replaced) continue;
    root_weight[r.func] += by_calls_ ? r.calls : r.weight;
  }
  // A whisker of slack so float sums that equal a budget are not turned away.
  auto room_of = [&](double budget) { return by_calls_ ? kFree : budget * (1 + 1e-9) + 1e-12; };
  for (std::uint32_t f = 0; f < n; ++f) {
    if (!(root_weight[f] > 0)) continue;
    roots_.push_back(RootRoom{root_weight[f], room_of(root_weight[f])});
    fn_[f].root = std::uint32_t(roots_.size());
  }
  // (With --weight calls: no budget, but a function never called, the profile module's fake root, is on no stack.)
  for (std::uint32_t f = 0; f < n; ++f)
    fn_[f].node_room = by_calls_ ? (fns[f].nc > 0 ? kFree : 0) : room_of(std::max(0.0, fns[f].ct - fns[f].tt));
  std::size_t edges = 0;
  for (const Function& fn : fns) edges += fn.callers.size();
  callers_.reserve(edges + 1);
  for (std::uint32_t f = 0; f < n; ++f) {
    fn_[f].caller_start = std::uint32_t(callers_.size());
    for (const Edge& e : fns[f].callers) {
      if (e.caller == f) continue;
      // An edge known by its calls only has no time to keep to: its callee's and caller's cumtime still hold.
      // One call is not split between activations: a caller whose calls to f took less in all than one call of
      // this edge takes on average could not have made it (the script's exec and the nested exec of an import: the
      // module body's one call takes longer than all nested execs together).
      const double per_call = by_calls_ ? 0 : e.ct / std::max(1.0, e.nc) * (1 - 1e-9);
      callers_.push_back(
          Caller{e.caller, 0, 0, 0, by_calls_ ? e.nc : e.ct, e.counted ? kFree : room_of(e.ct), per_call});
    }
    fn_[f].caller_end = std::uint32_t(callers_.size());
    std::sort(callers_.begin() + fn_[f].caller_start, callers_.end(),
              [](const Caller& a, const Caller& b) { return a.weight > b.weight; });
  }
  for (Caller& c : callers_) c.above_start = fn_[c.func].caller_start;
  const std::uint32_t end = std::uint32_t(callers_.size());
  callers_.push_back(Caller{0, 0, 0, end, 0, 0, 0});
  for (std::uint32_t c = 0; c < callers_.size(); ++c) callers_[c].next_with_room = c;
}

// An edge whose room is used up is skipped by every later small amount (amounts are > 0 and rooms only shrink):
// next_with_room links past such edges, shortened as it is followed (most scans used to step over them).
inline std::uint32_t Rebuild::first_with_room(std::uint32_t c) {
  while (callers_[c].next_with_room != c) {
    callers_[c].next_with_room = callers_[callers_[c].next_with_room].next_with_room;
    c = callers_[c].next_with_room;
  }
  return c;
}

inline void Rebuild::take_room(std::uint32_t c, double amount) {
  callers_[c].room -= amount;
  if (callers_[c].room <= 0) callers_[c].next_with_room = c + 1;
}

void Rebuild::place(std::uint32_t f, double amount) {
  todo_.assign(1, Step{f, 0, kNone, amount});
  while (!todo_.empty()) {
    Step s = todo_.back();
    todo_.pop_back();
    while (path_.size() > s.depth) pop();
    for (;;) {
      push(s.func, s.via);
      // A small amount climbs whole through one caller at a time (most steps): straight on, without a todo entry.
      if (s.amount < threshold_ && !options_.exact && path_.size() < kMaxClimb) {
        const std::uint32_t c = place_small_whole(s.func, s.amount, per_call_bound(true));
        if (c == kNone) break;  // on a stack under the root
        if (c != kNoRoom) {
          s.via = c;
          s.func = callers_[c].func;
          continue;
        }
      }
      share(s.func, s.amount);
      for (auto o = options_found_.rbegin(); o != options_found_.rend(); ++o)
        if (o->given > 0 && !o->is_root)
          todo_.push_back(Step{callers_[o->caller].func, std::uint32_t(path_.size()), o->caller, o->given});
      break;
    }
  }
  while (!path_.empty()) pop();
}

inline void Rebuild::push(std::uint32_t func, std::uint32_t via) {
  path_.push_back(func);
  via_.push_back(via);
  ++fn_[func].on_path;
  if (via != kNone) ++callers_[via].on_path;
}

inline void Rebuild::pop() {
  --fn_[path_.back()].on_path;
  if (via_.back() != kNone) --callers_[via_.back()].on_path;
  path_.pop_back();
  via_.pop_back();
}

// The call rule's bound at the top of the path: that of the edge below (see the constructor).
inline double Rebuild::per_call_bound(bool call_rule) const {
  if (!call_rule || via_.back() == kNone) return 0;
  return callers_[via_.back()].per_call;
}

// Shares `amount` at the top of the current path (x) between its options; the root's share and what is left
// become stacks now, the callers' shares are returned in options_found_ to go on up.
void Rebuild::share(std::uint32_t x, double amount, bool call_rule) {
  options_found_.clear();
  const double per_call = per_call_bound(call_rule);
  if (amount < threshold_ && !options_.exact && path_.size() < kMaxClimb) {
    const std::uint32_t c = place_small_whole(x, amount, per_call);
    if (c != kNoRoom) {
      if (c != kNone) options_found_.push_back(Option{false, c, 0, 0, amount, false});
      return;
    }
  }
  const bool skipped = collect_options(x, per_call);
  if (options_found_.empty() && skipped && per_call > 0) {  // no caller fits the rule: take them all
    share(x, amount, false);
    return;
  }
  if (options_.exact && options_found_.size() > 1) {  // which caller is a guess: stop, and say so
    options_found_.clear();
    emit(amount, Top::ambiguous);
    return;
  }
  hand_out(x, amount);
}

// Small amounts (most of them) go whole to one option: the heaviest caller not yet on the path with room for it
// (callers are sorted heaviest first, so the scan mostly stops at once), or the root if that is heavier. Returns the
// caller entry taken, kNone for the root (the stack is made), kNoRoom when neither has room. (The small steps are
// most steps: the chosen caller is handed back in a register, not as an Option.)
inline std::uint32_t Rebuild::place_small_whole(std::uint32_t x, double amount, double per_call) {
  double best_weight = -1;
  std::uint32_t best = kNone;
  Fn& fx = fn_[x];
  const std::uint32_t end = fx.caller_end;
  for (std::uint32_t c = first_with_room(fx.caller_start); c < end; c = first_with_room(c + 1)) {
    const Caller& caller = callers_[c];
    // The climb goes on from the caller's record and its first entry: both are fetched now, side by side.
    __builtin_prefetch(&fn_[caller.func]);
    __builtin_prefetch(&callers_[caller.above_start]);
    if (caller.weight <= 0) break;
    // In time, weight is the edge's cumtime: sorted heaviest first, no later caller meets the call rule either.
    if (caller.weight < per_call) break;
    if (caller.on_path) continue;
    const Fn& above = fn_[caller.func];
    const double room = std::min(caller.room, above.on_path ? kFree : above.node_room);
    if (room < amount) continue;
    best_weight = by_calls_ ? caller.weight : std::min(caller.weight, room);
    best = c;
    break;
  }
  RootRoom* root = fx.root ? &roots_[fx.root - 1] : nullptr;
  const bool root_fits = root && root->weight >= per_call && root->room >= amount;
  if (root_fits && (by_calls_ ? root->weight : std::min(root->weight, root->room)) >= best_weight) {
    root->room -= amount;
    emit(amount, Top::root);
    return kNone;
  }
  if (best == kNone) return kNoRoom;
  take_room(best, amount);
  Fn& above = fn_[callers_[best].func];
  if (!above.on_path) above.node_room -= amount;
  return best;
}

// The options at x (the root, the callers) into options_found_; true when one was left out for the call rule.
bool Rebuild::collect_options(std::uint32_t x, double per_call) {
  bool skipped = false;
  const Fn& fx = fn_[x];
  if (fx.root) {
    const RootRoom& root = roots_[fx.root - 1];
    if (root.weight >= per_call) {
      options_found_.push_back(
          Option{true, 0, by_calls_ ? root.weight : std::min(root.weight, root.room), root.room, 0, false});
    } else {
      skipped = true;
    }
  }
  if (path_.size() >= kMaxClimb) return skipped;
  for (std::uint32_t c = fx.caller_start; c < fx.caller_end; ++c) {
    const Caller& caller = callers_[c];
    // A function or an edge already on the path (recursion drawn as it ran, e.g. the nested imports' exec) already
    // holds this amount in its cumtime; an edge at most kMaxRepeat times, so that a cycle ends.
    if (caller.weight <= 0) break;  // sorted heaviest first: no later caller has weight either
    if (caller.on_path >= kMaxRepeat) continue;
    const double edge_room = caller.on_path ? kFree : caller.room;
    const Fn& above = fn_[caller.func];
    const double node_room = above.on_path ? kFree : above.node_room;
    if (caller.weight < per_call) {  // and every later caller too (sorted by weight, in time its cumtime)
      skipped = true;
      break;
    }
    const double room = std::min(edge_room, node_room);
    // The edge's cumtime not yet drawn: where the dump still has time to explain (free on a recursion).
    options_found_.push_back(
        Option{false, c, by_calls_ ? caller.weight : std::min(caller.weight, room), room, 0, caller.on_path > 0});
  }
  return skipped;
}

// Gives `amount` to the options found: whole to one if small, else water-filled; the root's share becomes a stack,
// the budgets are charged, and what no option has room for goes under "[caller unknown]".
void Rebuild::hand_out(std::uint32_t x, double amount) {
  double left = amount;
  Option* best = nullptr;  // small amounts go whole to the heaviest option with room for them, round a cycle last
  if (amount < threshold_)
    for (Option& o : options_found_)
      if (o.room >= amount &&
          (!best || (best->repeat && !o.repeat) || (best->repeat == o.repeat && o.weight > best->weight)))
        best = &o;
  if (best) {
    best->given = amount;
    left = 0;
  } else {
    left = water_fill(amount);
  }
  for (Option& o : options_found_) {
    if (o.given <= 0) continue;
    if (o.is_root) {
      roots_[fn_[x].root - 1].room -= o.given;
      emit(o.given, Top::root);
    } else {
      if (!o.repeat) take_room(o.caller, o.given);
      Fn& above = fn_[callers_[o.caller].func];
      if (!above.on_path) above.node_room -= o.given;
    }
  }
  if (left > 0) {
    caller_unknown += left;
    emit(left, Top::caller_unknown);
  }
}

// Gives each option amount × weight / Σ weights, except that no option gets more than its room: the capped
// options' excess is shared again among the others. Returns what no option has room for.
double Rebuild::water_fill(double amount) {
  double left = amount;
  if (amount < threshold_) {  // a small amount no option has room for: as few pieces as can be, heaviest first
    std::sort(options_found_.begin(), options_found_.end(), [](const Option& a, const Option& b) {
      return a.repeat != b.repeat ? b.repeat : a.weight > b.weight;
    });
    for (Option& o : options_found_) {
      if (left <= 0) break;
      if (o.room <= 0 || o.weight <= 0) continue;
      o.given = std::min(left, o.room);
      left -= o.given;
    }
    return std::max(0.0, left);
  }
  for (;;) {
    double weights = 0;
    for (const Option& o : options_found_)
      if (o.room - o.given > 0 && o.given == 0 && !o.repeat) weights += o.weight;
    if (weights <= 0 || left <= 0) break;
    bool capped = false;
    for (Option& o : options_found_) {
      if (o.given != 0 || o.room <= 0 || o.repeat) continue;
      if (left * o.weight / weights >= o.room) o.given = o.room, capped = true;
    }
    if (capped) {
      double given = 0;
      for (const Option& o : options_found_) given += o.given;
      left = amount - given;
      continue;
    }
    for (Option& o : options_found_)
      if (o.given == 0 && o.room > 0 && !o.repeat) o.given = left * o.weight / weights;
    pool_small_shares();
    return 0;
  }
  // Round a recursion once more only for what the callers not yet on the path have no room for: recursion is
  // drawn where the edges' times need it, not invented.
  for (Option& o : options_found_) {
    if (left <= 0) break;
    if (!o.repeat || o.weight <= 0) continue;
    o.given = left;
    left = 0;
  }
  return left;
}

// Shares under the threshold would each make a stack of their own all the way up: they go instead to the options
// with larger shares, heaviest first, as far as their room allows (what does not fit stays where it was).
void Rebuild::pool_small_shares() {
  double pool = 0, room = 0;
  for (const Option& o : options_found_) {
    if (o.given <= 0) continue;
    if (o.given < threshold_) pool += o.given;
    else room += o.room - o.given;
  }
  if (pool <= 0 || room < pool) return;
  for (Option& o : options_found_)
    if (o.given > 0 && o.given < threshold_) o.given = 0;
  while (pool > 0) {
    Option* heaviest = nullptr;
    for (Option& o : options_found_)
      if (o.given >= threshold_ && o.room - o.given > 0 && (!heaviest || o.weight > heaviest->weight)) heaviest = &o;
    if (!heaviest) break;
    const double take = std::min(pool, heaviest->room - heaviest->given);
    heaviest->given += take;
    pool -= take;
    if (pool > 0) heaviest->room = heaviest->given;  // full: not chosen again (its real room is kept below)
  }
  if (pool > 0) {  // float dust
    Option* largest = &options_found_.front();
    for (Option& o : options_found_)
      if (o.given > largest->given) largest = &o;
    largest->given += pool;
  }
}

void Rebuild::emit(double amount, Top top) { tree_.add(path_.data(), path_.size(), top, amount); }

}  // namespace pyfold::collapse::pstats
