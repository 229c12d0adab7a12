// --native: stop, unwind, read, let go, merge.
#include "pyfold/record/native/native_sampler.hpp"

#include "pyfold/record/os/thread_pauser.hpp"

namespace pyfold::record {

NativeSampler::NativeSampler(PythonProcess& python, bool keep_all)
    : python_(python), keep_all_(keep_all), memory_(python.pid()),
      unwinder_(std::make_unique<NativeUnwinder>(python.pid(), memory_, python.runtime_file())) {}

const char* NativeSampler::sample(ThreadStack& thread, bool process_stopped, std::vector<MergedFrame>& out) {
  out.clear();
  if (thread.tid <= 0) return "native: the thread's kernel id is unknown";
  {
    ThreadPauser pauser(python_.pid());  // lets the thread go when it ends, on every path
    if (!process_stopped) {
      if (!pauser.pause_thread(thread.tid)) return "native: the thread could not be stopped";
      if (const char* problem = python_.read_stopped_thread(thread)) return problem;
    }
    if (!unwinder_->unwind(thread.tid, native_)) return "native: the thread's registers could not be read";
  }
  if (native_.frames.empty()) return "native: no frame could be unwound";
  merge_native_stack(thread.frames, native_, keep_all_, out);
  return nullptr;
}

}  // namespace pyfold::record
