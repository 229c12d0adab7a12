#pragma once
// The ids of a folded stack's frames, for renderers that number frames as they come (speedscope, pprof): the
// frames a stack shares with the previous one (the same bytes up to the same ';') take the previous stack's ids
// without a lookup. Profiles repeat their prefixes, and a lookup hashes every byte of a frame.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pyfold {

template <typename Id>
class StackIds {
 public:
  // The ids of stack's frames, root first; lookup(frame text) numbers a frame not shared with the previous stack.
  // Valid until the next call.
  template <typename Lookup>
  const std::vector<Id>& ids(std::string_view stack, Lookup&& lookup) {
    std::size_t limit = std::min(stack.size(), previous_.size());
    std::size_t common = static_cast<std::size_t>(
        std::mismatch(stack.begin(), stack.begin() + static_cast<std::ptrdiff_t>(limit), previous_.begin()).first -
        stack.begin());
    current_.clear();
    bool sharing = true;
    std::size_t pos = 0;
    while (pos < stack.size()) {
      std::size_t semi = stack.find(';', pos);
      if (semi == std::string_view::npos) semi = stack.size();
      sharing = sharing && semi <= common && (semi == previous_.size() || previous_[semi] == ';') &&
                current_.size() < previous_ids_.size();
      current_.push_back(sharing ? previous_ids_[current_.size()] : lookup(stack.substr(pos, semi - pos)));
      pos = semi + 1;
    }
    previous_.assign(stack);
    previous_ids_.swap(current_);
    return previous_ids_;
  }

 private:
  std::string previous_;
  std::vector<Id> previous_ids_, current_;
};

}  // namespace pyfold
