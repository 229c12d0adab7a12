#pragma once
// A growable array in fixed-size chunks: growing never copies, and memory follows the size (no doubling slack).
// The stack tree keeps millions of nodes in these, where a vector's reallocations would touch twice the memory.
#include <cstddef>
#include <memory>
#include <vector>

namespace pyfold {

template <typename T, std::size_t ChunkBits = 18>
class ChunkedVector {
 public:
  static constexpr std::size_t kChunk = std::size_t{1} << ChunkBits;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return chunks_[i >> ChunkBits][i & (kChunk - 1)]; }
  const T& operator[](std::size_t i) const { return chunks_[i >> ChunkBits][i & (kChunk - 1)]; }

  void push_back(const T& value) {
    if ((size_ & (kChunk - 1)) == 0 && (size_ >> ChunkBits) == chunks_.size())
      chunks_.emplace_back(new T[kChunk]);
    (*this)[size_++] = value;
  }
  void assign(std::size_t n, const T& value) {
    clear();
    for (std::size_t i = 0; i < n; ++i) push_back(value);
  }
  void clear() {
    chunks_.clear();
    size_ = 0;
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace pyfold
