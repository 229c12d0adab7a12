#pragma once
// What both recording methods (remote, in-process) share: SIGINT/SIGTERM end recording instead of killing pyfold,
// and a monotonic clock. Internal to src/core/record.
#include <signal.h>

namespace pyfold::record {

// The last SIGINT/SIGTERM received while a SignalGuard was alive; 0 for none.
extern volatile sig_atomic_t g_signal;

class SignalGuard {
 public:
  SignalGuard();  // installs the handlers (no SA_RESTART: sleeps and reads wake up) and clears g_signal
  ~SignalGuard();  // restores the previous ones
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

double now_seconds();  // CLOCK_MONOTONIC

}  // namespace pyfold::record
