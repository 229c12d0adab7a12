#include "pyfold/heap_policy.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace pyfold {

void grow_heap_in_large_steps() {
  static std::once_flag done;
  std::call_once(done, [] {
    constexpr std::size_t kHugePage = std::size_t{2} << 20;
    constexpr std::size_t kStep = std::size_t{32} << 20;  // the largest M_MMAP_THRESHOLD glibc takes
    ::mallopt(M_ARENA_MAX, 1);
    ::mallopt(M_MMAP_THRESHOLD, int(kStep));
    ::mallopt(M_TRIM_THRESHOLD, int(2 * kStep));
    ::mallopt(M_TOP_PAD, int(kStep));
    // Grow the heap now, then mark what it spans: later growth merges into it only when it has the same marks, so
    // only this first step is sure to be on huge pages (it holds the usual large input's tables).
    const auto start = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    void* volatile grown = std::malloc(kHugePage);  // (volatile: a malloc freed unused may be left out)
    std::free(grown);
    const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    const std::uintptr_t from = (start + kHugePage - 1) & ~(kHugePage - 1), to = end & ~(kHugePage - 1);
    if (start != std::uintptr_t(-1) && to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
  });
}

}  // namespace pyfold
