// The stack counter (stack_counter.hpp): merged and sorted, or in time order.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "pyfold/io.hpp"
#include "pyfold/record/stack_counter.hpp"

using namespace pyfold::record;

TEST_CASE("stack counter: merged and sorted, or in time order with repeats merged") {
  for (bool timeline : {false, true}) {
    StackCounter counter(timeline);
    auto a = counter.intern("main (a.py:1)"), b = counter.intern("f (a.py:2)"), c = counter.intern("g (a.py:3)");
    CHECK(counter.intern("main (a.py:1)") == a);
    counter.add({a, c});
    counter.add({a, b});
    counter.add({a, b});
    counter.add({a, c});
    CHECK(counter.total() == 4);
    char path[] = "/tmp/pyfold-counter-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    auto out = pyfold::OutputSink::open(path);
    counter.write(*out);
    out->commit();
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    unlink(path);
    if (timeline) {
      CHECK(text == "main (a.py:1);g (a.py:3) 1\nmain (a.py:1);f (a.py:2) 2\nmain (a.py:1);g (a.py:3) 1\n");
    } else {
      CHECK(text == "main (a.py:1);f (a.py:2) 2\nmain (a.py:1);g (a.py:3) 2\n");
    }
  }
}
