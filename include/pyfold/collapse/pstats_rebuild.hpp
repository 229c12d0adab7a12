#pragma once
// The bottom-up rebuild of stacks from a pstats call graph. Each function's own time (or its primitive calls) is
// placed on stacks that end at that function, so its self time is exact by construction. The stack is built upwards
// from the leaf: at each function the amount is shared between the callers (not already on the stack) and, for a
// root, the outside, in proportion to the edges' cumtime (and the root's weight), water-filled so that no edge
// carries more than its cumtime and no function more than its cumtime less its own tottime (which stays reserved
// for its own stacks). What no caller can take any more is left on a stack topped by "[caller unknown]". Amounts
// below `threshold` are not split: they go up through the heaviest caller that still has room.
#include <cstdint>
#include <vector>

#include "pyfold/collapse/pstats.hpp"
#include "pyfold/collapse/pstats_graph.hpp"
#include "pyfold/collapse/pstats_tree.hpp"

namespace pyfold::collapse::pstats {

class Rebuild {
 public:
  Rebuild(const std::vector<Function>& fns, const std::vector<Root>& roots, const PstatsOptions& options,
          double threshold, TreeFeed& tree);

  double caller_unknown = 0;  // the amount left under "[caller unknown]"

  // Places `amount` of f's own time (or calls) on stacks ending at f.
  void place(std::uint32_t f, double amount);

 private:
  static constexpr double kFree = 1e300;  // the room of what has no budget
  static constexpr std::uint32_t kNone = 0xffffffffu;
  static constexpr std::uint32_t kNoRoom = 0xfffffffeu;  // place_small_whole: no option has room
  // Longest path climbed: a cycle whose heaviest way round is free (all its edges already on the path) stops here.
  static constexpr std::size_t kMaxClimb = 1024;
  static constexpr std::uint32_t kMaxRepeat = 4;

  // What a step of the climb reads sits together: per caller entry and per function, one record each.
  struct Caller {
    std::uint32_t func;
    std::uint32_t on_path;         // how often this edge is on the path
    std::uint32_t next_with_room;  // itself, or a later entry (its room is used up)
    std::uint32_t above_start;     // the caller's own first entry: fetched with the caller's record, not after it
    double weight;                 // the edge's cumtime (its calls with --weight calls)
    double room;                   // its cumtime not yet used
    double per_call;               // the call rule's bound for the callers above this edge (0: none, as with --weight
                                   // calls: weight then stands for the cumtime in the rule's tests, which never fail)
  };
  struct Fn {
    std::uint32_t caller_start, caller_end;  // its entries in callers_, heaviest first
    std::uint32_t on_path;                   // how often it is on the path
    std::uint32_t root;                      // its entry in roots_ plus one; 0: entered from no root
    double node_room;
  };
  // A root function's weight there and its room not yet used: apart from Fn (few functions are roots), so that the
  // record each climb step waits for is 24 bytes, not 40.
  struct RootRoom {
    double weight, room;
  };
  struct Step {
    std::uint32_t func, depth, via;  // via: the caller entry that led here (kNone at the leaf)
    double amount;
  };
  struct Option {
    bool is_root;
    std::uint32_t caller;  // index into callers_ (not for the root option)
    double weight, room, given;
    bool repeat;  // its edge is already on the path
  };

  void push(std::uint32_t func, std::uint32_t via);
  void pop();
  std::uint32_t first_with_room(std::uint32_t c);
  void take_room(std::uint32_t c, double amount);
  double per_call_bound(bool call_rule) const;
  void share(std::uint32_t x, double amount, bool call_rule = true);
  std::uint32_t place_small_whole(std::uint32_t x, double amount, double per_call);
  bool collect_options(std::uint32_t x, double per_call);
  void hand_out(std::uint32_t x, double amount);
  double water_fill(double amount);
  void pool_small_shares();
  void emit(double amount, Top top);

  TreeFeed& tree_;
  const PstatsOptions& options_;
  const double threshold_;
  const bool by_calls_;
  std::vector<Fn> fn_;
  std::vector<RootRoom> roots_;
  std::vector<Caller> callers_;  // and one more entry past the end, without weight, where the links stop
  std::vector<std::uint32_t> path_, via_;
  std::vector<Option> options_found_;
  std::vector<Step> todo_;  // place's steps not yet taken
};

}  // namespace pyfold::collapse::pstats
