#include "pyfold/open_table.hpp"

#include "pyfold/heap_policy.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace pyfold::open_table_memory {

namespace {
// Below this a table is an ordinary zeroed allocation: mapping costs a system call and a whole page.
constexpr std::size_t kMapBytes = std::size_t{64} << 10;
// Below this, where the heap grows in large steps on huge pages (heap_policy), a table comes from the heap: a
// mapping of its own would fault in small pages, and unmapping it stalls the other threads' page faults.
constexpr std::size_t kMapBytesFromLargeHeap = std::size_t{16} << 20;
}  // namespace

// A large table is mapped zeroed and faulted in up front (faulting pages in later, during random probes, is slower,
// and a prefetch of a page not yet mapped does nothing), on huge pages where the kernel allows.
Zeroed allocate_zeroed(std::size_t bytes) {
  if (bytes < (heap_in_large_steps() ? kMapBytesFromLargeHeap : kMapBytes)) {
    void* p = std::calloc(1, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return {p, false};
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= (std::size_t{8} << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return {p, true};  // Linux 5.14+: zero pages, faulted in
#endif
  std::memset(p, 0, bytes);
  return {p, true};
}

void free_zeroed(Zeroed zeroed, std::size_t bytes) {
  if (zeroed.memory == nullptr) return;
  if (zeroed.mapped) {
    ::munmap(zeroed.memory, bytes);
  } else {
    std::free(zeroed.memory);
  }
}

}  // namespace pyfold::open_table_memory
