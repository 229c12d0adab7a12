#pragma once
// The merged call tree that every renderer draws: one node per distinct path from the root, so its memory grows
// with the number of distinct paths and frame names, never with the input's size.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyfold/chunked_vector.hpp"
#include "pyfold/open_table.hpp"
#include "pyfold/string_table.hpp"
#include "pyfold/text.hpp"

namespace pyfold {

class StackTree {
 public:
  using NodeId = std::uint32_t;
  static constexpr NodeId kRoot = 0;

  enum class Merge {
    same_path,  // identical paths are one node wherever they occur (a flame graph)
    adjacent,   // a frame merges only with the same frame of the previous stack (a flame chart: time order kept)
  };
  // Sibling order for child_index().
  enum class Order {
    name,    // byte order of frame names, as flamegraph.pl sorts
    weight,  // heaviest first, ties by name (speedscope's "left heavy")
    time,    // order of first appearance (the only order that makes sense for Merge::adjacent)
  };

  explicit StackTree(Merge merge = Merge::same_path);

  // Adds one stack in folded text (frames joined by ';', root first; with reverse, leaf first). Trailing empty
  // frames are dropped, as flamegraph.pl's split does. The count goes to the whole path.
  void add(std::string_view stack, double count, bool reverse = false);
  // The same for a differential line: delta (second count minus first) goes to the last frame only.
  void add_differential(std::string_view stack, double count, double delta, bool reverse = false);

  // Adding a stack in two halves, for a reader that interns names on one thread while another adds stacks:
  // intern_name() may run concurrently with add_names(), never with another intern_name() or with name().
  using NameId = std::uint32_t;
  NameId intern_name(std::string_view text) { return intern_name(text, name_key(text)); }
  // The same in two steps: name_key() also asks the CPU to fetch what intern_name() will look at, so a caller that
  // keys all the names of a stack before interning them overlaps their cache misses.
  std::uint64_t name_key(std::string_view text);
  NameId intern_name(std::string_view text, std::uint64_t key);
  // path_hashes[i] must be path_hash() of names[0..i]; both may be unset for the known_shared frames.
  void add_names(const NameId* names, const std::uint64_t* path_hashes, std::size_t depth, std::size_t known_shared,
                 double count, double delta, bool differential);
  // The hash of a path, from its parent's and its last name; the root's is kRootPathHash.
  static std::uint64_t path_hash(std::uint64_t parent_hash, NameId name);
  static constexpr std::uint64_t kRootPathHash = 0x2545F4914F6CDD1DULL;
  // Asks the CPU to fetch the table slot a path's node is found from (a stack about to be added).
  void prefetch(std::uint64_t path_hash) const { slots_.prefetch(path_hash); }

  // Call after the last add: turns self counts into totals and frees the lookup table. add() may follow; it
  // rebuilds what it needs.
  void finish();

  std::size_t size() const { return links_.size(); }
  std::size_t name_count() const { return name_table_.size(); }
  NodeId parent(NodeId node) const { return links_[node].parent; }
  std::string_view name(NodeId node) const { return name_text(links_[node].name); }
  // Interned name number (0 .. name_count() - 1); nodes with the same name share it.
  std::uint32_t name_id(NodeId node) const { return links_[node].name; }
  // Total count of a node (self plus all descendants); valid after finish().
  double total(NodeId node) const { return value_[node]; }
  // Self delta of a differential profile; 0 for every node of a plain one.
  double delta(NodeId node) const { return delta_.empty() ? 0.0 : delta_[node]; }
  bool differential() const { return !delta_.empty(); }
  // Whether the node lies on the path of a differential (two-count) line: flamegraph.pl shows a change, and a
  // change colour, only for those when one-count and two-count lines are mixed.
  bool has_delta(NodeId node) const { return !on_delta_path_.empty() && on_delta_path_[node] != 0; }
  // Merge::adjacent only: where the node begins, in count units from the first stack.
  double start(NodeId node) const { return start_[node]; }
  Merge merge() const { return merge_; }
  // Sum of every count added so far.
  double total_count() const { return total_count_; }

  // Children of the listed nodes, in one array: children of parents[i] are nodes[first[i]] .. nodes[first[i+1]-1].
  struct ChildIndex {
    std::vector<NodeId> parents;  // ascending
    std::vector<std::uint32_t> first;
    std::vector<NodeId> nodes;
    // The children of n as [begin, end): one lookup for both ends.
    std::pair<const NodeId*, const NodeId*> children(NodeId n) const {
      std::size_t i = range(n);
      if (i == parents.size() || parents[i] != n) return {nodes.data(), nodes.data()};
      return {nodes.data() + first[i], nodes.data() + first[i + 1]};
    }
    const NodeId* begin(NodeId n) const { return children(n).first; }
    const NodeId* end(NodeId n) const { return children(n).second; }

   private:
    std::size_t range(NodeId n) const {
      return static_cast<std::size_t>(std::lower_bound(parents.begin(), parents.end(), n) - parents.begin());
    }
  };
  // Needs finish() for Order::weight. After finish(), only the children of nodes whose total is at least
  // min_total are listed; other nodes have none here.
  ChildIndex child_index(Order order, double min_total = 0) const;

 private:
  // (parent, name) -> node. Node 0 (the root, never a child) marks a free slot.
  struct Slot {
    NodeId parent;
    NameId name;
    NodeId node;
    bool empty() const { return node == kRoot; }
  };
  static constexpr std::uint32_t kEmpty = 0xffffffffu;  // no name

  void add_text(std::string_view stack, double count, double delta, bool differential, bool reverse);
  // A direct-mapped cache in front of intern(): a key from a few words of the name picks an entry, and a byte
  // comparison with the interned text confirms it. Profiles repeat a few thousand names millions of times, and
  // this is several times cheaper than hashing every byte; a miss (or a collision) falls back to intern().
  struct RecentName {
    std::uint64_t key;
    NameId id;  // kEmpty when unused
  };
  static constexpr std::size_t kRecentNames = 1 << 15;
  std::vector<RecentName> recent_names_;
  std::string_view name_text(NameId id) const { return name_table_.text(id); }
  NodeId new_node(NodeId parent, NameId name, std::uint64_t path_hash);
  NodeId find_or_add(NodeId parent, NameId name, std::uint64_t path_hash);
  void rebuild_slots(std::size_t capacity);

  Merge merge_;
  double total_count_ = 0;
  bool finished_ = false;

  // Interned frame names. A reader thread interns while the caller's thread grows the tree: the name state gets
  // cache lines of its own (alignas), or every lookup would wait for a line the other core just wrote.
  alignas(64) StringTable name_table_;

  // Nodes, in creation order (a parent always comes before its children).
  // What a node is: parent, name, and the low bits of its path hash (so rehashing needs no other node).
  struct NodeLink {
    NodeId parent;
    NameId name;
    std::uint32_t path_hash;
  };
  alignas(64) ChunkedVector<NodeLink> links_;
  ChunkedVector<double> value_;
  ChunkedVector<double> delta_;
  ChunkedVector<unsigned char> on_delta_path_;
  ChunkedVector<double> start_;

  // (parent, name) -> node, addressed by the hash of the whole path so a line's slots can be fetched at once.
  static constexpr std::size_t kInitialSlots = 1 << 14;
  OpenTable<Slot> slots_;

  // The last stack's count is added to its leaf one stack later, once the prefetched leaf has arrived.
  NodeId pending_leaf_ = kRoot;
  double pending_count_ = 0;
  void flush_pending() {
    value_[pending_leaf_] += pending_count_;
    pending_count_ = 0;
  }

  // The previous stack: its frames' names and nodes, reused while the next stack shares them.
  std::vector<NameId> prev_names_;
  std::vector<NodeId> prev_nodes_;
  // Scratch for the current stack.
  std::vector<NameId> names_;
  std::vector<NameId> scratch_names_;
  std::vector<std::uint64_t> hashes_;
};

}  // namespace pyfold
