#pragma once
// How a short-lived tool that builds large tables on two threads asks for memory (pstats conversion calls it once,
// before its work). Process-wide: glibc's malloc settings.

namespace pyfold {

// The heap grows 32 MB at a time (address space: pages still come only when touched), its first step on
// transparent huge pages where the kernel allows them; large arrays come from it rather than from a mapping each,
// and what is freed stays for the next phase. All threads share it. (On the 2.4 MB pstats benchmark a 4 KB page
// fault costs about a microsecond, and each munmap stalls the other thread's faults: this takes 3.4k faults to
// about 250; docs/performance.md.)
void grow_heap_in_large_steps();
// Whether grow_heap_in_large_steps() has run (OpenTable then takes tables under 16 MB from the heap).
bool heap_in_large_steps();

}  // namespace pyfold
