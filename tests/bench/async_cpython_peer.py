"""CPython's own reader as the peer of async_bench.py: times RemoteUnwinder.get_all_awaited_by() (what
`python -m asyncio pstree` and 3.15's `--async-aware --async-mode all` read each sample) and
get_async_stack_trace() (`--async-mode running`) on a running async_many_tasks.py. Run it with 3.14 or 3.15.

Usage: python3.14 async_cpython_peer.py [--tasks N] [--calls N]"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from _remote_debugging import RemoteUnwinder

HERE = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--tasks", type=int, default=1000)
p.add_argument("--calls", type=int, default=100)
a = p.parse_args()
target = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "e2e", "targets", "async_many_tasks.py")],
                          env=dict(os.environ, ASYNC_TASKS=str(a.tasks), SECONDS="8"))
try:
    time.sleep(2)
    unwinder = RemoteUnwinder(target.pid)
    for name in ("get_all_awaited_by", "get_async_stack_trace"):
        call, times = getattr(unwinder, name), []
        for _ in range(a.calls):
            start = time.perf_counter()
            try:
                call()
            except RuntimeError:
                continue
            times.append(time.perf_counter() - start)
        print(f"CPython {sys.version_info[0]}.{sys.version_info[1]} {name}: median {1e6 * statistics.median(times):.0f} us "
              f"per call ({len(times)} of {a.calls} calls succeeded, {a.tasks} tasks)")
finally:
    target.kill()
    target.wait()
