// libFuzzer entry: the folded-stack reader and the merged tree, on any bytes. Plain and flame-chart merging,
// reversed stacks; the tree's totals must add up.
#include <cstddef>
#include <cstdint>
#include <string>

#include "pyfold/folded.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the variant (one per run: each read spawns a reader thread and maps its tables).
  const int variant = data[0] % 3;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  {
    auto source = pyfold::InputSource::from_string(text, "fuzz");
    pyfold::StackTree tree(variant == 2 ? pyfold::StackTree::Merge::adjacent : pyfold::StackTree::Merge::same_path);
    pyfold::InvalidLineLog invalid(variant == 1);
    try {
      pyfold::read_folded(*source, tree, invalid, variant == 1);
    } catch (const pyfold::InputError&) {
      return 0;  // strict mode, or a total past 2^53: a clean error is the right answer
    }
    tree.finish();
    if (tree.size() > 0 && tree.total(pyfold::StackTree::kRoot) < 0) __builtin_trap();
  }
  return 0;
}
