#pragma once
// --native, one thread of one sample: stop the thread (alone, and always let it go), unwind its native stack, read
// its Python stack at that same moment, merge the two.
#include <memory>
#include <vector>

#include "pyfold/record/native/native_merge.hpp"
#include "pyfold/record/native/native_unwinder.hpp"
#include "pyfold/record/cpython/python_process.hpp"

namespace pyfold::record {

class NativeSampler {
 public:
  // keep_all: --native-all (every native frame, see native_merge.hpp).
  NativeSampler(PythonProcess& python, bool keep_all);
  // thread: from the live read of this sample (its tstate, interpreter and tid); its frames are read again while
  // the thread is stopped. process_stopped: --blocking has stopped every thread already (nothing to re-read).
  // nullptr, or why this thread has no stack in this sample.
  const char* sample(ThreadStack& thread, bool process_stopped, std::vector<MergedFrame>& out);
  const NativeUnwinder& unwinder() const { return *unwinder_; }
  // The last sample's thread was stopped inside a system call (waiting, not on a CPU).
  bool in_syscall() const { return native_.in_syscall; }

 private:
  PythonProcess& python_;
  bool keep_all_;
  ProcessMemory memory_;
  std::unique_ptr<NativeUnwinder> unwinder_;
  NativeStack native_;
};

}  // namespace pyfold::record
