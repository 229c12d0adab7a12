#pragma once
// How a short-lived tool that builds large tables asks for memory. Called once, before the work.

namespace pyfold {

// The heap grows 32 MB at a time (address space: pages still come only when touched), on transparent huge pages
// where the kernel allows them; large arrays come from it rather than from a mapping each, and what is freed stays
// for the next phase. All threads share it. (On the 2.4 MB pstats benchmark a 4 KB page fault costs about a
// microsecond, and each munmap stalls the other thread's faults: this takes 3.6k faults to 1.4k; docs/performance.md.)
void grow_heap_in_large_steps();
// Whether grow_heap_in_large_steps() has run.
bool heap_in_large_steps();

}  // namespace pyfold
