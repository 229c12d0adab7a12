// The fuzzers' XML well-formedness check (tests/fuzz/xml_check.hpp) must itself catch what it is there to catch.
#include <catch2/catch.hpp>

#include "../fuzz/xml_check.hpp"
#include "pyfold/render/svg.hpp"

using pyfold_fuzz::check_xml;

TEST_CASE("the XML check accepts well-formed documents, our SVGs among them", "[fuzz]") {
  CHECK(check_xml("<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<a x='1' y=\"&lt;&#x41;&#65;\"><b/>t&amp;t<!-- c -->"
                  "<![CDATA[ <not> & markup ]]></a>\n") == "");
  pyfold::StackTree tree;
  tree.add("<script>alert(1)</script>;a&b;\"q\";caf\xc3\xa9;\x01\xff", 3);
  tree.add("]]>;-->;&#0;", 2);
  tree.finish();
  std::string svg;
  auto sink = pyfold::OutputSink::into_string(svg);
  std::vector<std::string> warnings;
  pyfold::SvgOptions options;
  options.min_width = "0";
  options.title = "<t> & \"--\"";
  pyfold::render_svg(tree, options, *sink, warnings);
  sink->commit();
  CHECK(check_xml(svg) == "");
}

TEST_CASE("the XML check rejects what a browser would refuse", "[fuzz]") {
  CHECK(check_xml("<a><b></a></b>").rfind("end tag </a> does not match", 0) == 0);
  CHECK(check_xml("<a>x < y</a>").rfind("bad tag name", 0) == 0);
  CHECK(check_xml("<a>AT&T</a>").rfind("bad reference", 0) == 0);
  CHECK(check_xml("<a>&#0;</a>").rfind("bad reference", 0) == 0);
  CHECK(check_xml("<a x=1></a>").rfind("unquoted attribute", 0) == 0);
  CHECK(check_xml("<a x='<'></a>").rfind("'<' in an attribute", 0) == 0);
  CHECK(check_xml("<a x='1' x='2'></a>").rfind("repeated attribute", 0) == 0);
  CHECK(check_xml("<a><!-- a -- b --></a>").rfind("'--' inside a comment", 0) == 0);
  CHECK(check_xml("<a>\x01</a>").rfind("character XML forbids", 0) == 0);
  CHECK(check_xml("<a>\xff</a>").rfind("invalid UTF-8", 0) == 0);
  CHECK(check_xml("<a>\xed\xa0\x80</a>").rfind("invalid code point", 0) == 0);  // a surrogate
  CHECK(check_xml("<a></a><b></b>").rfind("a second root element", 0) == 0);
  CHECK(check_xml("<a>").rfind("unclosed <a>", 0) == 0);
  CHECK(check_xml("text").rfind("text outside the root", 0) == 0);
}
