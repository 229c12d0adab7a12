#include "pyfold/stack_tree.hpp"

#include <algorithm>

#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <stdexcept>

#include "pyfold/text.hpp"

namespace pyfold {
namespace {

// The hash of a path: a function of the frame names along it, so it can be computed before any node is known.
inline std::uint64_t extend_path_hash(std::uint64_t parent_hash, std::uint32_t name) {
  return mix64(parent_hash + (static_cast<std::uint64_t>(name) + 1) * 0x9E3779B97F4A7C15ULL);
}

}  // namespace

std::uint64_t StackTree::path_hash(std::uint64_t parent_hash, NameId name) { return extend_path_hash(parent_hash, name); }

StackTree::StackTree(Merge merge) : merge_(merge) {
  name_table_.intern(std::string_view());  // name 0: the root's (and any empty frame's) name
  links_.push_back(NodeLink{kRoot, 0, static_cast<std::uint32_t>(kRootPathHash)});
  value_.push_back(0);
  if (merge_ == Merge::adjacent) start_.push_back(0);
  rebuild_slots(kInitialSlots);
}

namespace {
inline std::uint64_t load_word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
// Byte equality for short strings, inline: the library memcmp branches on size classes, and frame names whose
// lengths straddle them cost it a misprediction per call.
inline bool same_bytes(const char* a, const char* b, std::size_t n) {
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
      if ((load_word(a + i) ^ load_word(b + i)) | (load_word(a + i + 8) ^ load_word(b + i + 8))) return false;
    // The last 16 (or 8) bytes, overlapping what was compared.
    if (n >= 16) return ((load_word(a + n - 16) ^ load_word(b + n - 16)) | (load_word(a + n - 8) ^ load_word(b + n - 8))) == 0;
    return load_word(a + n - 8) == load_word(b + n - 8) && load_word(a) == load_word(b);
  }
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// Cheap and good enough to spread names over the cache: the first, middle and last eight bytes and the length.
inline std::uint64_t recent_key(std::string_view text) {
  std::size_t n = text.size();
  std::uint64_t k;
  if (n >= 8) {
    k = load_word(text.data()) ^ (load_word(text.data() + n - 8) * 0x9E3779B97F4A7C15ULL) ^
        (load_word(text.data() + (n - 8) / 2) * 0xC2B2AE3D27D4EB4FULL);
  } else {
    k = 0;
    if (n > 0) std::memcpy(&k, text.data(), n);
  }
  return mix64(k ^ n);
}
}  // namespace

std::uint64_t StackTree::name_key(std::string_view text) {
  if (recent_names_.empty()) recent_names_.assign(kRecentNames, RecentName{0, kEmpty});
  std::uint64_t key = recent_key(text);
  const RecentName& recent = recent_names_[key & (kRecentNames - 1)];
  __builtin_prefetch(&recent);
  return key;
}

StackTree::NameId StackTree::intern_name(std::string_view text, std::uint64_t key) {
  RecentName& recent = recent_names_[key & (kRecentNames - 1)];
  if (recent.key == key && recent.id != kEmpty && name_table_.length(recent.id) == text.size() &&
      same_bytes(name_table_.data(recent.id), text.data(), text.size()))
    return recent.id;
  NameId id = name_table_.intern(text);
  recent = RecentName{key, id};
  return id;
}

void StackTree::rebuild_slots(std::size_t capacity) {
  if (merge_ == Merge::adjacent) {  // a flame chart never looks nodes up
    slots_.reset(0);
    return;
  }
  if (capacity > (std::size_t{1} << 32)) throw std::length_error("too many distinct stacks");
  slots_.reset(capacity);
  // In node order: the hashes are read in sequence, and the slots they land on are fetched ahead.
  constexpr std::size_t kAhead = 16;
  for (NodeId n = 1; n < links_.size(); ++n) {
    if (n + kAhead < links_.size()) slots_.prefetch(links_[n + kAhead].path_hash);
    slots_.insert_new(links_[n].path_hash, Slot{links_[n].parent, links_[n].name, n});
  }
}

StackTree::NodeId StackTree::new_node(NodeId parent, NameId name, std::uint64_t path_hash) {
  if (links_.size() >= kEmpty - 1) throw std::length_error("too many distinct stacks");
  NodeId node = static_cast<NodeId>(links_.size());
  links_.push_back(NodeLink{parent, name, static_cast<std::uint32_t>(path_hash)});
  value_.push_back(0);
  if (!delta_.empty()) {
    delta_.push_back(0);
    on_delta_path_.push_back(0);
  }
  if (merge_ == Merge::adjacent) start_.push_back(total_count_);
  return node;
}

StackTree::NodeId StackTree::find_or_add(NodeId parent, NameId name, std::uint64_t path_hash) {
  Slot* slot = slots_.probe(path_hash, [&](const Slot& s) { return s.parent == parent && s.name == name; });
  if (!slot->empty()) return slot->node;
  NodeId node = new_node(parent, name, path_hash);
  if (std::size_t capacity = slots_.fill(slot, Slot{parent, name, node})) rebuild_slots(capacity);
  return node;
}

void StackTree::add(std::string_view stack, double count, bool reverse) {
  add_text(stack, count, 0, false, reverse);
}

void StackTree::add_differential(std::string_view stack, double count, double delta, bool reverse) {
  add_text(stack, count, delta, true, reverse);
}

void StackTree::add_text(std::string_view stack, double count, double delta, bool differential, bool reverse) {
  // flamegraph.pl's split(";") drops trailing empty fields.
  while (!stack.empty() && stack.back() == ';') stack.remove_suffix(1);
  scratch_names_.clear();
  std::size_t pos = 0;
  while (pos < stack.size()) {
    std::size_t semi = stack.find(';', pos);
    if (semi == std::string_view::npos) semi = stack.size();
    scratch_names_.push_back(intern_name(stack.substr(pos, semi - pos)));
    pos = semi + 1;
  }
  if (reverse) std::reverse(scratch_names_.begin(), scratch_names_.end());
  add_names(scratch_names_.data(), nullptr, scratch_names_.size(), 0, count, delta, differential);
}

void StackTree::add_names(const NameId* names, const std::uint64_t* path_hashes, std::size_t depth,
                          std::size_t known_shared, double count, double delta, bool differential) {
  if (finished_) {
    // Back to self counts: subtract each node's children again (children follow their parent).
    for (NodeId n = static_cast<NodeId>(links_.size()); n-- > 1;) value_[links_[n].parent] -= value_[n];
    finished_ = false;
    if (merge_ == Merge::same_path) rebuild_slots(std::max(kInitialSlots, OpenTable<Slot>::capacity_for(links_.size())));
  }
  if (differential && delta_.empty()) {
    delta_.assign(links_.size(), 0.0);
    on_delta_path_.assign(links_.size(), 0);
  }
  known_shared = std::min({known_shared, depth, prev_names_.size()});
  names_.assign(names, names + depth);
  // The caller may leave the known_shared names unset: they are the previous stack's.
  std::copy(prev_names_.begin(), prev_names_.begin() + static_cast<std::ptrdiff_t>(known_shared), names_.begin());

  // Frames shared with the previous stack map to the same nodes: no lookup needed. For a flame chart this is
  // also the merge rule itself.
  std::size_t shared = known_shared;
  std::size_t limit = std::min(depth, prev_names_.size());
  while (shared < limit && names_[shared] == prev_names_[shared]) ++shared;
  prev_nodes_.resize(shared);

  NodeId node = shared == 0 ? kRoot : prev_nodes_[shared - 1];
  if (merge_ == Merge::adjacent) {
    for (std::size_t i = shared; i < depth; ++i) {
      node = new_node(node, names_[i], 0);
      prev_nodes_.push_back(node);
    }
  } else if (shared < depth) {
    if (path_hashes == nullptr) {
      // Hash every prefix first and touch its slot, so the cache misses of a deep stack overlap.
      hashes_.resize(depth);
      std::uint64_t h = kRootPathHash;
      for (std::size_t i = 0; i < depth; ++i) {
        h = extend_path_hash(h, names_[i]);
        hashes_[i] = h;
      }
      path_hashes = hashes_.data();
      for (std::size_t i = shared; i < depth; ++i) prefetch(path_hashes[i]);
    }
    for (std::size_t i = shared; i < depth; ++i) {
      node = find_or_add(node, names_[i], path_hashes[i]);
      prev_nodes_.push_back(node);
    }
  }
  prev_names_.swap(names_);

  __builtin_prefetch(&value_[node], 1);
  flush_pending();
  pending_leaf_ = node;
  pending_count_ = count;
  if (differential) {
    delta_[node] += delta;
    on_delta_path_[kRoot] = 1;
    for (NodeId n : prev_nodes_) on_delta_path_[n] = 1;
  }
  total_count_ += count;
}

void StackTree::finish() {
  if (finished_) return;
  flush_pending();
  for (NodeId n = static_cast<NodeId>(links_.size()); n-- > 1;) value_[links_[n].parent] += value_[n];
  slots_.reset(0);
  finished_ = true;
}

StackTree::ChildIndex StackTree::child_index(Order order, double min_total) const {
  // Only the children of nodes that reach min_total are listed (after finish()): a renderer that prunes narrow
  // frames never opens the others, and skipping them keeps this pass cheap on trees of millions of nodes.
  auto expanded = [&](NodeId p) { return !finished_ || value_[p] >= min_total; };
  ChildIndex index;
  std::size_t n = links_.size();
  // (parent, child) pairs in creation order; a stable sort by parent keeps each family in time order.
  std::vector<std::pair<NodeId, NodeId>> pairs;
  for (NodeId c = 1; c < n; ++c) {
    NodeId p = links_[c].parent;
    if (expanded(p)) pairs.emplace_back(p, c);
  }
  if (pairs.size() < n / 8) {
    std::sort(pairs.begin(), pairs.end());  // children are unique, so this keeps each family in time order
  } else {
    // Most nodes are listed (no pruning): a counting sort by parent, stable, in two passes.
    std::vector<std::uint32_t> start(n + 1, 0);
    for (const auto& pc : pairs) ++start[pc.first + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<std::pair<NodeId, NodeId>> sorted(pairs.size());
    for (const auto& pc : pairs) sorted[start[pc.first]++] = pc;
    pairs.swap(sorted);
  }
  index.nodes.reserve(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i == 0 || pairs[i].first != pairs[i - 1].first) {
      index.parents.push_back(pairs[i].first);
      index.first.push_back(static_cast<std::uint32_t>(i));
    }
    index.nodes.push_back(pairs[i].second);
  }
  index.first.push_back(static_cast<std::uint32_t>(pairs.size()));
  std::vector<std::pair<NodeId, NodeId>>().swap(pairs);
  if (order == Order::time) return index;

  // Rank names once so sibling sorting compares integers.
  std::vector<NameId> by_name(name_table_.size());
  std::iota(by_name.begin(), by_name.end(), 0);
  std::sort(by_name.begin(), by_name.end(), [&](NameId a, NameId b) { return name_text(a) < name_text(b); });
  std::vector<std::uint32_t> rank(name_table_.size());
  for (std::uint32_t r = 0; r < by_name.size(); ++r) rank[by_name[r]] = r;

  for (std::size_t i = 0; i < index.parents.size(); ++i) {
    NodeId* b = index.nodes.data() + index.first[i];
    NodeId* e = index.nodes.data() + index.first[i + 1];
    if (e - b < 2) continue;
    if (order == Order::name) {
      std::stable_sort(b, e, [&](NodeId x, NodeId y) { return rank[links_[x].name] < rank[links_[y].name]; });
    } else {
      std::stable_sort(b, e, [&](NodeId x, NodeId y) {
        if (value_[x] != value_[y]) return value_[x] > value_[y];
        return rank[links_[x].name] < rank[links_[y].name];
      });
    }
  }
  return index;
}

}  // namespace pyfold
