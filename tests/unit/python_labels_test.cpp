// --colors python's short labels: the file relative to the sys.path entry read off the path (python_labels.hpp).
#include <catch2/catch.hpp>

#include "pyfold/render/python_labels.hpp"

using namespace pyfold;

TEST_CASE("library code is labelled relative to its sys.path entry") {
  CHECK(library_relative("/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py") == "json/__init__.py");
  CHECK(library_relative("/usr/lib/python3/dist-packages/requests/api.py") == "requests/api.py");
  CHECK(library_relative("/venv/lib/python3.12/site-packages/django/core/handlers/base.py") ==
        "django/core/handlers/base.py");
  CHECK(library_relative("/usr/lib/python3.13t/lib-dynload/_json.so") == "_json.so");
  CHECK(library_relative("/srv/app/main.py").empty());
  CHECK(library_relative("/srv/lib/pythonic/x.py").empty());  // not /lib/pythonX.Y/
}

TEST_CASE("the user's files are labelled relative to their common directory") {
  PythonLabels labels;
  for (const char* frame : {"<module> (/srv/app/main.py:1)", "handler (/srv/app/myapp/views.py:40)",
                            "dumps (/usr/lib/python3.11/json/__init__.py:183)", "<built-in method time.sleep>",
                            "_find_and_load (<frozen importlib._bootstrap>:1176)"})
    labels.add(frame);
  CHECK(labels.label("handler (/srv/app/myapp/views.py:40)") == "handler (myapp/views.py:40)");
  CHECK(labels.label("<module> (/srv/app/main.py:1)") == "<module> (main.py:1)");
  CHECK(labels.label("dumps (/usr/lib/python3.11/json/__init__.py:183)") == "dumps (json/__init__.py:183)");
  CHECK(labels.label("<built-in method time.sleep>") == "<built-in method time.sleep>");
  CHECK(labels.label("_find_and_load (<frozen importlib._bootstrap>:1176)") ==
        "_find_and_load (<frozen importlib._bootstrap>:1176)");
  CHECK(labels.label("f (rel/path.py:3)") == "f (rel/path.py:3)");  // relative paths stay
  CHECK(labels.label("g (/srv/app/a.py)") == "g (a.py)");           // no line
}

TEST_CASE("one script: its directory; files in unrelated trees: nothing to strip") {
  PythonLabels one;
  one.add("main (/tmp/eval-12/build.py:9)");
  CHECK(one.label("main (/tmp/eval-12/build.py:9)") == "main (build.py:9)");
  PythonLabels apart;
  apart.add("a (/srv/x.py:1)");
  apart.add("b (/home/u/y.py:2)");
  CHECK(apart.label("a (/srv/x.py:1)") == "a (/srv/x.py:1)");  // the common directory is "/"
  PythonLabels sibling;  // /srv/app2 is not inside /srv/app
  sibling.add("a (/srv/app/x.py:1)");
  sibling.add("b (/srv/app2/y.py:2)");
  CHECK(sibling.label("a (/srv/app/x.py:1)") == "a (app/x.py:1)");
}
