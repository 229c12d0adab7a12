#pragma once
// Counts sampled stacks as sequences of interned frame texts, and writes them as folded lines.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pyfold/io.hpp"

namespace pyfold::record {

class StackCounter {
 public:
  explicit StackCounter(bool timeline) : timeline_(timeline) {}
  // The id of a frame text (already in folded frame form).
  std::uint32_t intern(std::string_view text);
  // Adds count samples of the stack (frame ids, root first).
  void add(const std::vector<std::uint32_t>& stack, std::uint64_t count = 1);
  std::uint64_t total() const { return total_; }
  // Writes `frame;frame;... COUNT` lines: merged and sorted, or in time order with consecutive repeats merged.
  void write(OutputSink& out) const;

 private:
  struct Hash {
    std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
      std::uint64_t h = 1469598103934665603ull;
      for (std::uint32_t x : v) h = (h ^ x) * 1099511628211ull;
      return static_cast<std::size_t>(h);
    }
  };
  std::string line(const std::vector<std::uint32_t>& stack) const;
  bool timeline_;
  std::uint64_t total_ = 0;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> texts_;
  std::unordered_map<std::vector<std::uint32_t>, std::uint64_t, Hash> counts_;
  std::vector<std::pair<std::vector<std::uint32_t>, std::uint64_t>> timeline_counts_;
};

}  // namespace pyfold::record
