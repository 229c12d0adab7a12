#include "pyfold/heap_policy.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace pyfold {

namespace {
void* volatile below_first_huge_page = nullptr;  // see below
std::atomic<bool> in_large_steps{false};
}  // namespace

bool heap_in_large_steps() { return in_large_steps.load(std::memory_order_relaxed); }

void grow_heap_in_large_steps() {
  static std::once_flag done;
  std::call_once(done, [] {
    constexpr std::size_t kHugePage = std::size_t{2} << 20;
    constexpr std::size_t kStep = std::size_t{32} << 20;  // the largest M_MMAP_THRESHOLD glibc takes
    ::mallopt(M_ARENA_MAX, 1);
    ::mallopt(M_MMAP_THRESHOLD, int(kStep));
    ::mallopt(M_TRIM_THRESHOLD, int(2 * kStep));
    ::mallopt(M_TOP_PAD, int(kStep));
    in_large_steps = true;
    // Grow the heap now by a block nothing has touched yet, and mark the huge pages inside it before it is freed
    // back (a page touched first would keep its 2 MB on small pages). Later growth is not marked: this first step
    // holds the usual large input's tables.
    const std::size_t grow = kStep - kHugePage;  // below the mmap threshold: from the heap
    void* volatile block = std::malloc(grow);    // (volatile: a malloc freed unused may be left out)
    const auto begin = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t from = (begin + kHugePage - 1) & ~(kHugePage - 1), to = (begin + grow) & ~(kHugePage - 1);
    if (begin != 0 && to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
    std::free(block);
    if (begin == 0 || to <= from) return;
    // The heap's next blocks would start below the first marked page: a block that is never touched or freed
    // (address space, no memory) takes that part.
    if (from - begin > 64) below_first_huge_page = std::malloc(from - begin - 32);
  });
}

}  // namespace pyfold
