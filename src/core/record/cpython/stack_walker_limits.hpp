#pragma once
// The stack walker's bounds and two byte helpers, shared by its files (stack_walker.cpp: the memory snapshot;
// threads.cpp, frames.cpp, code_objects.cpp). Internal to src/core/record/cpython.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace pyfold::record::walker {

constexpr std::size_t kMaxDepth = 1 << 16;  // frames per thread
constexpr std::size_t kMaxThreads = 4096;    // thread states per interpreter
constexpr std::size_t kMaxInterpreters = 256;
constexpr std::size_t kMaxCodeCache = 1 << 16;
constexpr std::uint64_t kPage = 4096;
// A prefetched range not used for this many samples is dropped; the list is capped in entries and bytes.
constexpr std::uint64_t kKeepSamples = 64;
constexpr std::size_t kMaxRanges = 8192;
constexpr std::size_t kMaxCframes = 64;  // per thread: the C stack places a thread's cframe was found at
constexpr std::uint64_t kMaxRun = 256 << 10;  // the largest range of frames copied as one
constexpr int kFrameBuffer = 512;
constexpr std::uint64_t kUserSpaceEnd = std::uint64_t{1} << 47;  // the bytes of a frame the walk copies

inline std::uint64_t u64_at(const unsigned char* p, int offset) {
  std::uint64_t v;
  std::memcpy(&v, p + offset, 8);
  return v;
}

inline int max_offset(std::initializer_list<int> offsets) {
  int m = 0;
  for (int o : offsets) m = std::max(m, o);
  return m + 8;
}


}  // namespace pyfold::record::walker
