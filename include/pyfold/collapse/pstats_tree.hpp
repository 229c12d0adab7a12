#pragma once
// The stacks of the pstats rebuild merged into a tree, root first, so that small subtrees can be pruned: a node's
// children whose subtree is under the threshold go to one "[pruned]" child of it (their time is its callees', not
// its own: every drawn function keeps its own time). Paths deeper than --max-depth keep the frames nearest the root
// and their leaf, with "[frames cut]" between them.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/collapse/pstats_reader.hpp"
#include "pyfold/batch_queue.hpp"
#include "pyfold/open_table.hpp"
#include "pyfold/text.hpp"

namespace pyfold::collapse::pstats {

// What sits on top of a stack that does not start at a root.
enum class Top : std::uint8_t {
  root,            // the stack starts at a function entered from outside the profiled code
  caller_unknown,  // the callers' edge times in the dump are used up: "[caller unknown]" on top
  ambiguous,       // --exact: the next function up has several callers: "[ambiguous callers]" on top
};

class Tree {
 public:
  Tree(const std::vector<Function>& fns, std::size_t max_depth);

  // One stack: its frames leaf first, what is on top of it, and its amount.
  void add(const std::uint32_t* leaf_first, std::size_t length, Top top, double amount);

  // Totals, children lists, and the lines with the subtrees under `threshold` pruned.
  // function_amount: each function's own time (or calls); those with at least `threshold` keep theirs under
  // "[pruned]" as a leaf of their own, so that a large function's self time is whole even when its contexts are
  // pruned.
  void finish(double threshold, const std::vector<double>& function_amount);

  // The stacks to write: each with its amount, in depth-first order.
  struct Line {
    std::uint32_t node;  // its last frame, or the node whose [pruned] child it is
    bool pruned;         // node;[pruned], or node;[pruned];func when func is a function
    std::uint32_t func;  // a large function's own time in pruned subtrees (fns.size(): the rest)
    double amount;
  };
  std::vector<Line> out;

  // Each line's group for rounding: its function, or fns.size() for the [pruned] lines.
  std::vector<std::uint32_t> groups() const;

  // Sends each line with a count > 0 (counts: one per line of `out`) to sink.
  void write(const std::vector<long long>& counts, StackSink& sink) const;

 private:
  enum Marker : std::uint32_t { kCallerUnknown, kAmbiguous, kFramesCut, kPruned };
  static constexpr const char* kMarkerText[] = {"[caller unknown]", "[ambiguous callers]", "[frames cut]",
                                                "[pruned]"};
  static constexpr std::uint32_t kNoParent = 0xffffffffu;
  struct Node {
    std::uint32_t parent, key;  // key: a function, or fns.size() + a Marker
  };

  // (parent, key) → node, the key kept in the slot so that a lookup reads no node. A slot is placed by the hash of
  // its path's keys (root first), not by the parent's id: all the slots a stack will probe are known before the
  // walk, and fetched at once instead of one cache miss after the other.
  struct ChildSlot {
    std::uint32_t parent, key, node_plus_one;  // node_plus_one 0: a free slot
    bool empty() const { return node_plus_one == 0; }
  };
  // One multiply a key (mix64's three made a chain of waits in each stack's batch of hashes): the parent's hash
  // turned and the key folded in, multiplied, and its high half folded down for the table's low bits.
  static std::uint64_t path_hash(std::uint64_t parent_hash, std::uint32_t key) {
    std::uint64_t h = ((parent_hash << 29 | parent_hash >> 35) ^ (std::uint64_t(key) + 1)) * 0x9E3779B97F4A7C15ULL;
    return h ^ h >> 32;
  }

  std::uint32_t child(std::uint32_t parent, std::uint32_t key, std::uint64_t hash);
  std::uint64_t path_hash_of(std::uint32_t node) const;
  void lines(double threshold, const std::vector<double>& function_amount);
  void prune_subtree(std::uint32_t top, double threshold, const std::vector<double>& function_amount, double& rest,
                     std::vector<double>& large, std::vector<std::uint32_t>& touched);

  const std::vector<Function>& fns_;
  const std::uint32_t n_;
  std::vector<Node> nodes_;
  std::vector<double> self_, total_;  // each node's own amount, and (made by finish) its subtree's
  const std::size_t max_depth_;
  OpenTable<ChildSlot> children_of_;
  std::vector<std::uint32_t> child_start_, children_;
  std::vector<std::uint32_t> walk_;  // prune_subtree's own stack, kept between calls
  std::vector<std::uint32_t> keys_, last_keys_, last_nodes_;  // add's keys root first; the previous stack's
  std::vector<std::uint64_t> hashes_;  // the path hash of each prefix of the last stack add was given
  mutable std::vector<std::uint32_t> walk_keys_;  // path_hash_of's
};

// A Tree made and grown on a thread of its own, from stacks given in order: the tree is the one Tree::add makes,
// while the rebuild's climb and the tree's lookups (and the faulting in of its table) run side by side, each in its
// own core's cache. Where no thread can start, the stacks go straight to the tree.
class TreeFeed {
 public:
  TreeFeed(const std::vector<Function>& fns, std::size_t max_depth);
  ~TreeFeed();  // after an error: stops the thread, whatever is still queued is dropped
  TreeFeed(const TreeFeed&) = delete;
  TreeFeed& operator=(const TreeFeed&) = delete;

  void add(const std::uint32_t* leaf_first, std::size_t length, Top top, double amount);
  // A hint that the stacks are nearly all given: smaller batches from now on, so that the thread has less left to
  // add once the last is given (finish() waits for it).
  void ending_soon();
  // The tree with every stack added; rethrows the thread's error.
  Tree& finish();

 private:
  struct Batch {
    struct Stack {
      std::uint32_t length;
      Top top;
      double amount;
    };
    std::vector<std::uint32_t> frames;  // each stack's frames, leaf first, one stack after the other
    std::vector<Stack> stacks;
    bool end = false;
    void clear() { frames.clear(), stacks.clear(), end = false; }
  };
  void run(const std::vector<Function>& fns, std::size_t max_depth);
  void hand_over(bool end);

  std::optional<Tree> tree_;  // made by the thread (read after it stopped)
  BatchQueue<Batch> queue_;
  std::unique_ptr<Batch> filling_;
  std::size_t batch_frames_;  // a batch is handed over once it holds this many frames
  std::exception_ptr error_;  // the thread's, read after it stopped
  std::thread thread_;
};

}  // namespace pyfold::collapse::pstats
