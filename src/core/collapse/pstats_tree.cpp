// The tree of the pstats rebuild's stacks: merging, pruning and the folded lines.
#include "pyfold/collapse/pstats_tree.hpp"

#include <algorithm>
#include <system_error>

#include "pyfold/frame_text.hpp"

namespace pyfold::collapse::pstats {

Tree::Tree(const std::vector<Function>& fns, std::size_t max_depth)
    : fns_(fns), n_(std::uint32_t(fns.size())), max_depth_(max_depth) {
  nodes_.push_back(Node{kNoParent, 0});
  self_.push_back(0);
  // Room for the nodes a large dump makes (about six per function at the default --prune): a vector that doubles
  // touches each of its sizes in fresh pages, and pages not used are never touched.
  const std::size_t expected = std::min<std::size_t>(8 * fns.size() + 16, std::size_t{1} << 22);
  nodes_.reserve(expected);
  self_.reserve(expected);
  // The child table for six per function: it then does not grow on such a dump (four times otherwise, each move a
  // cache miss); it is faulted in whole, so it is not sized for more.
  children_of_.reset(OpenTable<ChildSlot>::capacity_for(std::min<std::size_t>(6 * fns.size() + 16, 1 << 20)));
}

void Tree::add(const std::uint32_t* leaf_first, std::size_t length, Top top, double amount) {
  // The keys root first: the marker on top, the frames kept nearest the root, the cut marker, the leaf.
  keys_.clear();
  std::size_t depth = length;
  if (top == Top::caller_unknown) keys_.push_back(n_ + kCallerUnknown), ++depth;
  if (top == Top::ambiguous) keys_.push_back(n_ + kAmbiguous), ++depth;
  const std::size_t above = depth - length;
  std::size_t keep = length - 1;  // frames above the leaf, root side first
  if (depth > max_depth_) keep = max_depth_ >= above + 2 ? max_depth_ - above - 2 : 0;
  for (std::size_t k = 0; k < keep; ++k) keys_.push_back(leaf_first[length - 1 - k]);
  if (depth > max_depth_) keys_.push_back(n_ + kFramesCut);
  keys_.push_back(leaf_first[0]);
  // Stacks placed one after the other often share their root side (about half the frames on a large dump): that
  // part of the previous stack's nodes is reused without a lookup.
  std::size_t same = 0;
  while (same < keys_.size() && same < last_keys_.size() && keys_[same] == last_keys_[same]) ++same;
  last_nodes_.resize(same);
  hashes_.resize(same);  // the path hash of each prefix, kept from the previous stack where shared
  std::uint32_t node = same ? last_nodes_[same - 1] : 0;
  for (std::uint64_t h = same ? hashes_[same - 1] : 0; hashes_.size() < keys_.size();) {
    h = path_hash(h, keys_[hashes_.size()]);
    children_of_.prefetch(h);
    hashes_.push_back(h);
  }
  for (std::size_t k = same; k < keys_.size(); ++k)
    last_nodes_.push_back(node = child(node, keys_[k], hashes_[k]));
  std::swap(keys_, last_keys_);
  self_[node] += amount;
}

void Tree::finish(double threshold, const std::vector<double>& function_amount) {
  total_.assign(nodes_.size(), 0);
  for (std::size_t i = nodes_.size(); i-- > 1;) {  // children come after their parents
    total_[i] += self_[i];
    total_[nodes_[i].parent] += total_[i];
  }
  child_start_.assign(nodes_.size() + 1, 0);
  for (std::size_t i = 1; i < nodes_.size(); ++i) ++child_start_[nodes_[i].parent + 1];
  for (std::size_t i = 0; i < nodes_.size(); ++i) child_start_[i + 1] += child_start_[i];
  children_.resize(nodes_.size());
  std::vector<std::uint32_t> fill(child_start_.begin(), child_start_.end() - 1);
  for (std::uint32_t i = 1; i < nodes_.size(); ++i) children_[fill[nodes_[i].parent]++] = i;
  lines(threshold, function_amount);
}

std::vector<std::uint32_t> Tree::groups() const {
  std::vector<std::uint32_t> g(out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    g[i] = out[i].pruned ? out[i].func : std::min(n_, nodes_[out[i].node].key);
  return g;
}

void Tree::write(const std::vector<long long>& counts, StackSink& sink) const {
  // Each function's frame text, made once, all in one string: where it is (start + 1, 0 until made) and its length.
  std::string frame_texts;
  std::vector<std::uint32_t> frame_at(n_, 0), frame_length(n_, 0);
  std::string stack;
  std::vector<std::uint32_t> chain;
  auto frame = [&](std::uint32_t key) -> std::string_view {
    if (!frame_at[key]) {
      std::string_view file = fns_[key].file;
      if (file == "~") file = {};  // cProfile's built-ins: ('~', 0, '<built-in method builtins.exec>')
      frame_at[key] = std::uint32_t(frame_texts.size()) + 1;
      append_frame_text(frame_texts, fns_[key].name, file, fns_[key].line);
      frame_length[key] = std::uint32_t(frame_texts.size() + 1 - frame_at[key]);
    }
    return std::string_view(frame_texts).substr(frame_at[key] - 1, frame_length[key]);
  };
  // Every node on a line's path has a line of its own, so these are all the frames written. When their texts and
  // the markers' all differ, so do the lines (their paths differ as keys, and no frame holds a ';'): the sink may
  // then pass them on without merging.
  std::vector<std::uint32_t> written;
  for (const Line& line : out) {
    const std::uint32_t key = line.pruned ? line.func : nodes_[line.node].key;
    if (key < n_ && !frame_at[key]) frame(key), written.push_back(key);
  }
  std::vector<std::string_view> texts(std::begin(kMarkerText), std::end(kMarkerText));
  for (std::uint32_t key : written) texts.push_back(frame(key));  // (frame_texts no longer grows)
  std::sort(texts.begin(), texts.end());
  if (std::adjacent_find(texts.begin(), texts.end()) == texts.end()) sink.stacks_distinct();
  // Lines come depth first: a line's stack mostly starts with the previous one's. That part of the text is kept
  // (at: its nodes, root first; end_of: the text's length after each) and only the rest is appended.
  std::vector<std::uint32_t> at;
  std::vector<std::size_t> end_of;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (counts[i] <= 0) continue;
    chain.clear();
    for (std::uint32_t node = out[i].node; node != 0; node = nodes_[node].parent) chain.push_back(node);
    const std::size_t depth = chain.size();
    std::size_t same = 0;
    while (same < depth && same < at.size() && at[same] == chain[depth - 1 - same]) ++same;
    at.resize(same);
    end_of.resize(same);
    stack.resize(same ? end_of.back() : 0);
    for (std::size_t k = same; k < depth; ++k) {
      const std::uint32_t node = chain[depth - 1 - k];
      if (!stack.empty()) stack.push_back(';');
      const std::uint32_t key = nodes_[node].key;
      if (key >= n_)
        stack += kMarkerText[key - n_];
      else
        stack += frame(key);
      at.push_back(node);
      end_of.push_back(stack.size());
    }
    if (out[i].pruned) {
      if (!stack.empty()) stack.push_back(';');
      stack += kMarkerText[kPruned];
      if (out[i].func < n_) stack.push_back(';'), stack += frame(out[i].func);
    }
    sink.add(stack, double(counts[i]));
  }
}

// The child of parent with key, made when new.
std::uint32_t Tree::child(std::uint32_t parent, std::uint32_t key, std::uint64_t hash) {
  ChildSlot* slot =
      children_of_.probe(hash, [&](const ChildSlot& s) { return s.parent == parent && s.key == key; });
  if (!slot->empty()) return slot->node_plus_one - 1;
  const std::uint32_t id = std::uint32_t(nodes_.size());
  nodes_.push_back(Node{parent, key});
  self_.push_back(0);
  children_of_.occupy(slot, ChildSlot{parent, key, id + 1},
                      [&](const ChildSlot& s) { return path_hash_of(s.node_plus_one - 1); });
  return id;
}

// A node's path hash, from its keys (only when the child table grows: nodes do not keep theirs).
std::uint64_t Tree::path_hash_of(std::uint32_t node) const {
  walk_keys_.clear();
  for (; node != 0; node = nodes_[node].parent) walk_keys_.push_back(nodes_[node].key);
  std::uint64_t h = 0;
  for (auto k = walk_keys_.rbegin(); k != walk_keys_.rend(); ++k) h = path_hash(h, *k);
  return h;
}

// Depth-first from the root: a node's own line, its kept children, then one [pruned] line for the others.
void Tree::lines(double threshold, const std::vector<double>& function_amount) {
  std::vector<std::uint32_t> todo, kids;
  std::vector<double> large(n_, 0);    // a pruned group's time of each large function
  std::vector<std::uint32_t> touched;  // the large functions met in this group
  for (std::uint32_t c = child_start_[1]; c-- > child_start_[0];) todo.push_back(children_[c]);
  while (!todo.empty()) {
    const std::uint32_t node = todo.back();
    todo.pop_back();
    out.push_back(Line{node, false, n_, self_[node]});
    double rest = 0;
    kids.clear();
    touched.clear();
    for (std::uint32_t c = child_start_[node]; c < child_start_[node + 1]; ++c) {
      const std::uint32_t kid = children_[c];
      // A leaf's own frame is never pruned away from a marker (the [caller unknown] and cut stacks keep theirs).
      if (total_[kid] >= threshold || nodes_[node].key >= n_)
        kids.push_back(kid);
      else
        prune_subtree(kid, threshold, function_amount, rest, large, touched);
    }
    if (rest > 0) out.push_back(Line{node, true, n_, rest});
    for (std::uint32_t f : touched) {
      out.push_back(Line{node, true, f, large[f]});
      large[f] = 0;
    }
    for (auto k = kids.rbegin(); k != kids.rend(); ++k) todo.push_back(*k);
  }
}

// A pruned subtree's time: large functions' own time apart (in large, first met in touched), the rest together.
void Tree::prune_subtree(std::uint32_t top, double threshold, const std::vector<double>& function_amount,
                         double& rest, std::vector<double>& large, std::vector<std::uint32_t>& touched) {
  walk_.assign(1, top);
  while (!walk_.empty()) {
    const std::uint32_t w = walk_.back();
    walk_.pop_back();
    const Node& node = nodes_[w];
    const double self = self_[w];
    if (self > 0) {
      if (node.key < n_ && function_amount[node.key] >= threshold) {
        if (large[node.key] == 0) touched.push_back(node.key);
        large[node.key] += self;
      } else {
        rest += self;
      }
    }
    for (std::uint32_t k = child_start_[w]; k < child_start_[w + 1]; ++k) walk_.push_back(children_[k]);
  }
}

namespace {
// A batch holds about this many frames (a quarter of a megabyte): few hand-overs (smaller ones measured slower).
constexpr std::size_t kFeedBatchFrames = 1 << 16;
constexpr std::size_t kFeedBatchesInFlight = 4;
}  // namespace

TreeFeed::TreeFeed(const std::vector<Function>& fns, std::size_t max_depth)
    : queue_(kFeedBatchesInFlight), batch_frames_(kFeedBatchFrames) {
  try {
    thread_ = std::thread([this, &fns, max_depth] { run(fns, max_depth); });
  } catch (const std::system_error&) {  // no thread: add() adds in place
    tree_.emplace(fns, max_depth);
  }
}

TreeFeed::~TreeFeed() {
  if (!thread_.joinable()) return;
  queue_.cancel();
  thread_.join();
}

void TreeFeed::add(const std::uint32_t* leaf_first, std::size_t length, Top top, double amount) {
  if (!thread_.joinable()) {  // no thread could start (the tree is made in place), or finish() has run
    tree_->add(leaf_first, length, top, amount);
    return;
  }
  if (!filling_ && !(filling_ = queue_.take_free())) finish();  // the thread stopped: rethrows its error
  filling_->frames.insert(filling_->frames.end(), leaf_first, leaf_first + length);
  filling_->stacks.push_back(Batch::Stack{std::uint32_t(length), top, amount});
  if (filling_->frames.size() >= batch_frames_) hand_over(false);
}

void TreeFeed::ending_soon() { batch_frames_ = kFeedBatchFrames / 8; }

void TreeFeed::hand_over(bool end) {
  if (!filling_ && !(filling_ = queue_.take_free())) return;
  filling_->end = end;
  queue_.put_full(std::move(filling_));
}

Tree& TreeFeed::finish() {
  if (thread_.joinable()) {
    hand_over(true);
    thread_.join();
    filling_.reset();  // the batches' memory is free again for what follows
    queue_.release();
  }
  if (error_) std::rethrow_exception(error_);
  return *tree_;
}

void TreeFeed::run(const std::vector<Function>& fns, std::size_t max_depth) {
  try {
    tree_.emplace(fns, max_depth);
    while (std::unique_ptr<Batch> batch = queue_.take_full()) {
      const std::uint32_t* frames = batch->frames.data();
      for (const Batch::Stack& stack : batch->stacks) {
        tree_->add(frames, stack.length, stack.top, stack.amount);
        frames += stack.length;
      }
      if (batch->end) return;
      queue_.put_free(std::move(batch));
    }
  } catch (...) {
    error_ = std::current_exception();
    queue_.cancel();
  }
}

}  // namespace pyfold::collapse::pstats
