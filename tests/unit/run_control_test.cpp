// run_control.hpp: SignalGuard's nesting (pyfold top's guard around record()'s, record()'s around its method's).
#include <catch2/catch.hpp>

#include <signal.h>

#include "pyfold/record/run_control.hpp"

using namespace pyfold::record;

namespace {
void (*handler_of(int signal))(int) {
  struct sigaction now {};
  sigaction(signal, nullptr, &now);
  return now.sa_handler;
}
}  // namespace

TEST_CASE("SignalGuard: an inner guard keeps what the outer one caught and gives back the outer one's handlers") {
  const auto before_int = handler_of(SIGINT), before_term = handler_of(SIGTERM);
  {
    SignalGuard outer;
    CHECK(g_signal == 0);
    raise(SIGTERM);  // during start-up, before the recording's own guard
    CHECK(g_signal == SIGTERM);
    const auto outer_term = handler_of(SIGTERM);
    {
      SignalGuard inner;
      CHECK(g_signal == SIGTERM);  // the recording still ends
    }
    CHECK(handler_of(SIGTERM) == outer_term);  // the outer one's, not the default
    CHECK(handler_of(SIGINT) == outer_term);
    raise(SIGINT);
    CHECK(g_signal == SIGINT);
  }
  CHECK(handler_of(SIGINT) == before_int);
  CHECK(handler_of(SIGTERM) == before_term);
  SignalGuard fresh;  // the outermost again: nothing caught yet
  CHECK(g_signal == 0);
}
