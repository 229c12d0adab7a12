#include "pyfold/open_table.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace pyfold::open_table_memory {

namespace {
// Below this a table is an ordinary zeroed allocation: mapping costs a system call and a whole page.
constexpr std::size_t kMapBytes = std::size_t{64} << 10;
}  // namespace

// A large table is mapped zeroed and faulted in up front (faulting pages in later, during random probes, is slower,
// and a prefetch of a page not yet mapped does nothing), on huge pages where the kernel allows.
void* allocate_zeroed(std::size_t bytes) {
  if (bytes < kMapBytes) {
    void* p = std::calloc(1, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= (std::size_t{8} << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return p;  // Linux 5.14+: zero pages, faulted in by the kernel
#endif
  std::memset(p, 0, bytes);
  return p;
}

void free_zeroed(void* memory, std::size_t bytes) {
  if (memory == nullptr) return;
  if (bytes < kMapBytes) {
    std::free(memory);
  } else {
    ::munmap(memory, bytes);
  }
}

}  // namespace pyfold::open_table_memory
