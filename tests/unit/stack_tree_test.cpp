#include <catch2/catch.hpp>
#include <map>

#include "pyfold/stack_tree.hpp"

using namespace pyfold;
using NodeId = StackTree::NodeId;

namespace {
// "path -> total" for every node, to compare trees independently of node numbering.
std::map<std::string, double> totals(const StackTree& tree) {
  std::map<std::string, double> out;
  for (NodeId n = 1; n < tree.size(); ++n) {
    std::string path(tree.name(n));
    for (NodeId p = tree.parent(n); p != StackTree::kRoot; p = tree.parent(p)) path = std::string(tree.name(p)) + ";" + path;
    out[path] += tree.total(n);
  }
  return out;
}
std::vector<std::string> child_names(const StackTree& tree, const StackTree::ChildIndex& index, NodeId n) {
  std::vector<std::string> names;
  for (const NodeId* c = index.begin(n); c != index.end(n); ++c) names.emplace_back(tree.name(*c));
  return names;
}
}  // namespace

TEST_CASE("identical paths merge and counts add up to every ancestor", "[tree]") {
  StackTree tree;
  tree.add("main;a;b", 3);
  tree.add("main;c", 1);
  tree.add("main;a;b", 2);
  tree.add("main;a", 4);
  tree.add("other", 1);
  tree.finish();
  auto t = totals(tree);
  CHECK(t["main"] == 10);
  CHECK(t["main;a"] == 9);
  CHECK(t["main;a;b"] == 5);
  CHECK(t["main;c"] == 1);
  CHECK(t["other"] == 1);
  CHECK(tree.total(StackTree::kRoot) == 11);
  CHECK(tree.size() == 6);  // root, main, a, b, c, other
}

TEST_CASE("the same name under different parents is a different node", "[tree]") {
  StackTree tree;
  tree.add("a;x", 1);
  tree.add("b;x", 1);
  tree.add("a;b;x", 1);
  tree.finish();
  CHECK(tree.size() == 7);
  CHECK(tree.name_count() == 4);  // "", a, x, b
}

TEST_CASE("trailing empty frames are dropped, inner ones kept (flamegraph.pl's split)", "[tree]") {
  StackTree tree;
  tree.add("a;;b;;", 1);
  tree.finish();
  auto t = totals(tree);
  CHECK(t.count("a;;b") == 1);
  CHECK(t.size() == 3);
}

TEST_CASE("a flame chart merges a frame only with the previous stack's", "[tree]") {
  StackTree tree(StackTree::Merge::adjacent);
  tree.add("a;b", 1);
  tree.add("a;b", 1);  // merges: same as the previous stack
  tree.add("a;c", 1);
  tree.add("a;b", 1);  // a new b: time order is kept
  tree.add("d", 2);
  tree.add("a", 1);  // a new a
  tree.finish();
  std::vector<std::pair<std::string, double>> nodes;
  for (NodeId n = 1; n < tree.size(); ++n) nodes.emplace_back(std::string(tree.name(n)), tree.start(n));
  std::vector<std::pair<std::string, double>> expected = {{"a", 0}, {"b", 0}, {"c", 2}, {"b", 3}, {"d", 4}, {"a", 6}};
  CHECK(nodes == expected);
  CHECK(tree.total(1) == 4);
  auto index = tree.child_index(StackTree::Order::time);
  CHECK(child_names(tree, index, 1) == std::vector<std::string>{"b", "c", "b"});
}

TEST_CASE("children sort by name bytes or by weight", "[tree]") {
  StackTree tree;
  tree.add("r;zeta", 5);
  tree.add("r;alpha", 1);
  tree.add("r;Beta", 3);
  tree.add("r;\xC3\xA9t\xC3\xA9", 2);  // "été": UTF-8 sorts after ASCII, as flamegraph.pl's sort does
  tree.add("r;alpha", 1);
  tree.finish();
  NodeId r = 1;
  CHECK(child_names(tree, tree.child_index(StackTree::Order::name), r) ==
        std::vector<std::string>{"Beta", "alpha", "zeta", "\xC3\xA9t\xC3\xA9"});
  CHECK(child_names(tree, tree.child_index(StackTree::Order::weight), r) ==
        std::vector<std::string>{"zeta", "Beta", "alpha", "\xC3\xA9t\xC3\xA9"});
  CHECK(child_names(tree, tree.child_index(StackTree::Order::time), r) ==
        std::vector<std::string>{"zeta", "alpha", "Beta", "\xC3\xA9t\xC3\xA9"});
}

TEST_CASE("differential deltas go to the frame where the line ends", "[tree]") {
  StackTree tree;
  tree.add_differential("a;b", 5, 3);
  tree.add_differential("a", 2, -1);
  tree.add_differential("a;b", 1, 1);
  tree.finish();
  REQUIRE(tree.differential());
  CHECK(tree.name(1) == "a");
  CHECK(tree.delta(1) == -1);
  CHECK(tree.name(2) == "b");
  CHECK(tree.delta(2) == 4);
  CHECK(tree.total(1) == 8);
}

TEST_CASE("adding after finish() keeps totals right", "[tree]") {
  StackTree tree;
  tree.add("a;b", 1);
  tree.finish();
  tree.add("a;c", 2);
  tree.add("a;b", 1);
  tree.finish();
  auto t = totals(tree);
  CHECK(t["a"] == 4);
  CHECK(t["a;b"] == 2);
  CHECK(t["a;c"] == 2);
}

TEST_CASE("the tree survives many rehashes and matches a map of paths", "[tree]") {
  StackTree tree;
  std::map<std::string, double> expected;
  std::uint64_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::string stack;
    int depth = 1 + static_cast<int>((x >> 7) % 9);
    for (int d = 0; d < depth; ++d) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      if (d) stack += ';';
      stack += "f" + std::to_string((x >> 33) % 5);
      expected[stack] += 1;
    }
    tree.add(stack, 1);
  }
  tree.finish();
  CHECK(totals(tree) == expected);
}

TEST_CASE("deep stacks need no recursion", "[tree]") {
  std::string stack;
  for (int i = 0; i < 100000; ++i) stack += (i ? ";f" : "f") + std::to_string(i % 10);
  StackTree tree;
  tree.add(stack, 1);
  tree.add(stack, 1);
  tree.finish();
  CHECK(tree.size() == 100001);
  CHECK(tree.total(100000) == 2);
}

TEST_CASE("names that look alike to the name cache stay distinct", "[tree]") {
  // Same length, same first, middle and last eight bytes: the cache key is the same, the bytes differ.
  std::string a = "abcdefgh_X_mnopqrstuvwx_Y_12345678";
  std::string b = a, c = a;
  b[9] = 'Z';
  c[25] = 'Z';
  StackTree tree;
  StackTree::NameId ia = tree.intern_name(a), ib = tree.intern_name(b), ic = tree.intern_name(c);
  CHECK(ia != ib);
  CHECK(ia != ic);
  CHECK(ib != ic);
  // Alternating lookups evict each other from the cache and must still find the same numbers.
  for (int i = 0; i < 3; ++i) {
    CHECK(tree.intern_name(a) == ia);
    CHECK(tree.intern_name(b) == ib);
    CHECK(tree.intern_name(c) == ic);
  }
  // Short names (under a word) and the empty name.
  CHECK(tree.intern_name("ab") != tree.intern_name("ba"));
  CHECK(tree.intern_name("ab") == tree.intern_name(std::string("ab")));
  CHECK(tree.intern_name("") == tree.intern_name(std::string()));
  tree.add(a + ";" + b, 1);
  tree.add(a + ";" + c, 2);
  tree.finish();
  CHECK(totals(tree) == std::map<std::string, double>{{a, 3}, {a + ";" + b, 1}, {a + ";" + c, 2}});
}
