// libFuzzer entry: the SVG renderer fed arbitrary frame names and counts. Its output must stay well-formed XML
// (checked by xml_check.hpp, not trusted), in the default, inverted and flame-chart layouts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "pyfold/folded.hpp"
#include "pyfold/render/svg.hpp"
#include "xml_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the variant (one per run: each read spawns a reader thread and maps its tables).
  const int variant = data[0] % 3;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  {
    pyfold::SvgOptions options;
    options.min_width = "0";
    options.inverted = variant == 1;
    options.flamechart = variant == 2;
    options.colors = variant == 1 ? pyfold::PaletteKind::python : pyfold::PaletteKind::hot;
    options.title = text.substr(0, 40);  // titles are escaped like names
    auto source = pyfold::InputSource::from_string(text, "fuzz");
    pyfold::StackTree tree(options.flamechart ? pyfold::StackTree::Merge::adjacent
                                              : pyfold::StackTree::Merge::same_path);
    pyfold::InvalidLineLog invalid;
    try {
      pyfold::read_folded(*source, tree, invalid);
    } catch (const pyfold::InputError&) {
      return 0;
    }
    tree.finish();
    std::string svg;
    auto sink = pyfold::OutputSink::into_string(svg);
    std::vector<std::string> warnings;
    if (tree.size() <= 1 || tree.total(pyfold::StackTree::kRoot) <= 0) {
      pyfold::render_error_svg(options, "no stack counts", *sink);
    } else {
      pyfold::render_svg(tree, options, *sink, warnings);
    }
    sink->commit();
    std::string problem = pyfold_fuzz::check_xml(svg);
    if (!problem.empty()) {
      std::fprintf(stderr, "not well-formed XML (variant %d): %s\n", variant, problem.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
