#include <catch2/catch.hpp>

#include "pyfold/diagnostics.hpp"
#include "pyfold/folded.hpp"

using namespace pyfold;

namespace {
LineStatus parse(std::string_view line, FoldedLine& out, std::string_view& reason) {
  return parse_folded_line(line, out, reason);
}
}  // namespace

TEST_CASE("a folded line is a stack and the count after the last whitespace", "[folded]") {
  FoldedLine line;
  std::string_view reason;
  REQUIRE(parse("main;work;leaf 42", line, reason) == LineStatus::stack);
  CHECK(line.stack == "main;work;leaf");
  CHECK(line.count == 42);
  CHECK_FALSE(line.differential);

  REQUIRE(parse("a frame with spaces;b (x.py:3)\t\t7", line, reason) == LineStatus::stack);
  CHECK(line.stack == "a frame with spaces;b (x.py:3)");
  CHECK(line.count == 7);

  SECTION("decimal counts are kept") {
    REQUIRE(parse("a;b 2.5", line, reason) == LineStatus::stack);
    CHECK(line.count == 2.5);
    REQUIRE(parse("a;b 3.", line, reason) == LineStatus::stack);
    CHECK(line.count == 3);
  }
  SECTION("trailing whitespace after the count is accepted") {
    REQUIRE(parse("a;b 5  \t", line, reason) == LineStatus::stack);
    CHECK(line.stack == "a;b");
    CHECK(line.count == 5);
  }
  SECTION("leading zeros do not count towards the size limit") {
    REQUIRE(parse("a 000000000000000000000012", line, reason) == LineStatus::stack);
    CHECK(line.count == 12);
  }
}

TEST_CASE("two counts make a differential line", "[folded]") {
  FoldedLine line;
  std::string_view reason;
  REQUIRE(parse("a;b 10 15", line, reason) == LineStatus::stack);
  CHECK(line.differential);
  CHECK(line.stack == "a;b");
  CHECK(line.before == 10);
  CHECK(line.count == 15);
  // A lone number before the count is a frame name, as in flamegraph.pl.
  REQUIRE(parse("3 5", line, reason) == LineStatus::stack);
  CHECK_FALSE(line.differential);
  CHECK(line.stack == "3");
}

TEST_CASE("blank lines and '# ' comments are skipped", "[folded]") {
  FoldedLine line;
  std::string_view reason;
  CHECK(parse("", line, reason) == LineStatus::skip);
  CHECK(parse("   \t", line, reason) == LineStatus::skip);
  CHECK(parse("# written by pyfold 1", line, reason) == LineStatus::skip);
  // "#" without a space is an ordinary frame name.
  CHECK(parse("#frame 1", line, reason) == LineStatus::stack);
}

TEST_CASE("invalid lines say what is wrong", "[folded]") {
  FoldedLine line;
  std::string_view reason;
  CHECK(parse("a;b", line, reason) == LineStatus::invalid);
  CHECK(reason == "no count");
  CHECK(parse("a;b12", line, reason) == LineStatus::invalid);
  CHECK(reason == "no count");
  CHECK(parse("a;b -3", line, reason) == LineStatus::invalid);
  CHECK(reason == "no count");
  CHECK(parse("a;b 1.2.3", line, reason) == LineStatus::invalid);
  CHECK(reason == "invalid count");
  CHECK(parse("a;b .5", line, reason) == LineStatus::invalid);
  CHECK(reason == "invalid count");
  // A last frame of spaces (perf's address-only frame) is a frame, as flamegraph.pl reads it: one space goes.
  REQUIRE(parse("java;main;  1", line, reason) == LineStatus::stack);
  CHECK(line.stack == "java;main; ");
  REQUIRE(parse("java;main;\t 1", line, reason) == LineStatus::stack);
  CHECK(line.stack == "java;main;\t");
  CHECK(parse("   17", line, reason) == LineStatus::invalid);
  CHECK(reason == "no stack before the count");
  CHECK(parse("a;b 99999999999999999999", line, reason) == LineStatus::invalid);
  CHECK(reason == "count too large (the limit is 2^53)");
  CHECK(parse("a;b 9007199254740993", line, reason) == LineStatus::invalid);
  CHECK(parse("a;b 9007199254740992", line, reason) == LineStatus::stack);
}

TEST_CASE("counts print as integers when they are", "[folded]") {
  std::string out;
  append_count(out, 42);
  out += ' ';
  append_count(out, 2.5);
  out += ' ';
  append_count(out, 9007199254740992.0);
  CHECK(out == "42 2.5 9007199254740992");
}

TEST_CASE("read_folded merges lines, counts invalid ones and reports the first", "[folded]") {
  auto source = InputSource::from_string("a;b 1\r\nbad line\na;b 2\n# comment\na;c 3\nworse\n", "in.folded");
  StackTree tree;
  InvalidLineLog invalid;
  CHECK(read_folded(*source, tree, invalid) == 3);
  tree.finish();
  CHECK(tree.total_count() == 6);
  CHECK(invalid.count() == 2);
  CHECK(invalid.first() == "in.folded:2: no count");
  CHECK(invalid.summary() == "ignored 2 invalid lines (first: in.folded:2: no count)");
}

TEST_CASE("strict mode stops at the first invalid line with source:line: reason", "[folded]") {
  auto source = InputSource::from_string("a;b 1\na;b 2\nno count here\na 1\n", "input.folded");
  StackTree tree;
  InvalidLineLog invalid(true);
  REQUIRE_THROWS_AS(read_folded(*source, tree, invalid), InputError);
  auto again = InputSource::from_string("a;b 1\na;b 2\nno count here\na 1\n", "input.folded");
  StackTree tree2;
  try {
    read_folded(*again, tree2, invalid);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "input.folded:3: no count");
  }
}

TEST_CASE("a total above 2^53 is an error, never a wrap-around", "[folded]") {
  auto source = InputSource::from_string("a 9007199254740992\nb 1\n", "big.folded");
  StackTree tree;
  InvalidLineLog invalid;
  try {
    read_folded(*source, tree, invalid);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).rfind("big.folded:2: the total count exceeds 2^53", 0) == 0);
  }
}

TEST_CASE("the reader handles many batches, long lines and no final newline", "[folded]") {
  std::string text;
  for (int i = 0; i < 30000; ++i) text += "root;mid" + std::to_string(i % 7) + ";leaf" + std::to_string(i % 13) + " 1\n";
  text += std::string(3 << 20, 'x') + ";y 5";  // a 3 MB line, the last one, without "\n"
  auto source = InputSource::from_string(text, "many");
  StackTree tree;
  InvalidLineLog invalid;
  CHECK(read_folded(*source, tree, invalid) == 30001);
  tree.finish();
  CHECK(tree.total_count() == 30005);
  CHECK(invalid.count() == 0);
  // root + 7 mid + 7*13 leaves reachable (each (mid, leaf) pair that occurs) + the long frame and y.
  std::size_t leaves = 0;
  for (StackTree::NodeId n = 1; n < tree.size(); ++n)
    if (tree.name(n).rfind("leaf", 0) == 0) ++leaves;
  CHECK(leaves == 91);
}

TEST_CASE("reverse puts the leaf first", "[folded]") {
  auto source = InputSource::from_string("a;b;c 2\nx;b;c 3\n", "r");
  StackTree tree;
  InvalidLineLog invalid;
  read_folded(*source, tree, invalid, true);
  tree.finish();
  // c (5) -> b (5) -> {a (2), x (3)}
  REQUIRE(tree.size() == 5);
  CHECK(tree.name(1) == "c");
  CHECK(tree.total(1) == 5);
  CHECK(tree.name(2) == "b");
  CHECK(tree.parent(2) == 1);
}

TEST_CASE("an empty first frame is not taken for the previous stack's (fuzz finding)", "[folded]") {
  // Found by fuzz-folded: the shared-prefix test read the previous stack's hashes when it had no frames.
  auto source = InputSource::from_string(";a 5\r\n\r\n# comment\r\nmain;c 7\r\n;a 1\n", "fuzz");
  StackTree tree;
  InvalidLineLog invalid;
  CHECK(read_folded(*source, tree, invalid) == 3);
  tree.finish();
  CHECK(tree.total_count() == 13);
}

TEST_CASE("one folded writer: one count, two counts, integer counts") {
  std::string out;
  pyfold::append_folded_line(out, "main;work", 3.0);
  pyfold::append_folded_line(out, "main;idle", 0.5);
  pyfold::append_folded_line(out, "main", 2.0, 7.0);
  pyfold::append_folded_line(out, "a;b", std::uint64_t{12345678901234567890u});
  CHECK(out == "main;work 3\nmain;idle 0.5\nmain 2 7\na;b 12345678901234567890\n");
}

TEST_CASE("a recorder's line has one count: a number before it belongs to the stack") {
  pyfold::FoldedLine line;
  std::string_view reason;
  REQUIRE(pyfold::parse_folded_line("thread (1): 3 5", line, reason) == pyfold::LineStatus::stack);
  CHECK((line.differential && line.stack == "thread (1):"));
  REQUIRE(pyfold::parse_folded_line("thread (1): 3 5", line, reason, pyfold::Counts::one) == pyfold::LineStatus::stack);
  CHECK((!line.differential && line.stack == "thread (1): 3" && line.count == 5));
}
