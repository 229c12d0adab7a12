"""pyfold: flame graphs for Python programs. The tools are binaries (pyfold, pyflame-svg, ...) installed on the
environment's PATH; `python -m pyfold ARGS` is `pyfold ARGS`."""
