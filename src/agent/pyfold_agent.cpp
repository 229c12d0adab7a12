// libpyfold-agent.so: the in-process method's native sampler (self_sampler.hpp), loaded into the Python program by
// pyfold's bootstrap through ctypes. Only these two functions are visible; everything else, the C++ runtime
// included, stays inside the library, so nothing of the program's is interposed.
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "pyfold/record/inprocess/self_sampler.hpp"

namespace {
std::unique_ptr<pyfold::record::SelfSampler> g_sampler;

void copy_message(const char* text, char* out, int size) {
  if (out && size > 0) std::snprintf(out, static_cast<std::size_t>(size), "%s", text);
}
}  // namespace

// Starts sampling this process into fd with the bootstrap's settings. 0, or -1 with the reason in error.
extern "C" __attribute__((visibility("default"))) int pyfold_agent_start(int fd, const char* settings, char* error,
                                                                         int error_size) {
  try {
    if (g_sampler) throw std::runtime_error("already sampling");
    auto sampler = std::make_unique<pyfold::record::SelfSampler>(
        fd, pyfold::record::parse_sampling_settings(settings ? settings : ""));
    sampler->start();
    g_sampler = std::move(sampler);
    return 0;
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_size);
  } catch (...) {
    copy_message("unknown error", error, error_size);
  }
  return -1;
}

// Stops sampling and writes the totals (nothing in a forked child, which has no sampling thread).
extern "C" __attribute__((visibility("default"))) void pyfold_agent_stop() {
  try {
    if (g_sampler) g_sampler->stop();
  } catch (...) {
  }
}
