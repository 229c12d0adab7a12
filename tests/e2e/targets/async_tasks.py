"""A known asyncio task structure for `pyfold record --async` (tests/e2e/async_test.py): Task-1 runs main, which
awaits a gather of three named tasks (sleeper awaits asyncio.sleep for 4 units, heavy computes 3 units, light
computes 1 unit; they start in that order, so heavy runs 0-3, light 3-4 and sleeper waits 0-4), then (3.11+) a
TaskGroup of two children (child-2 computes 2 units, then child-1 1 unit). A thread without an event loop sleeps in
idle_worker meanwhile (its stacks stay thread stacks). A unit is ASYNC_UNIT seconds of wall time
(a spin on the clock, so that time spent waiting for a CPU still counts as the computation's), or with
ASYNC_CLOCK=process seconds of the process's CPU time (what an in-process cpu-mode timer counts). The lines marked
`# at: NAME` are the await lines the test expects in the chains."""
import asyncio
import os
import sys
import threading
import time

UNIT = float(os.environ.get("ASYNC_UNIT", "0.15"))
CLOCK = time.process_time if os.environ.get("ASYNC_CLOCK") == "process" else time.perf_counter


def spin(units):
    end = CLOCK() + units * UNIT
    while CLOCK() < end:
        pass


async def compute(units):
    spin(units)  # at: compute


async def heavy():
    await compute(3)  # at: heavy


async def light():
    await compute(1)  # at: light


async def sleeper():
    await asyncio.sleep(4 * UNIT)  # at: sleeper


async def gather_phase():
    await asyncio.gather(named(sleeper(), "sleeper"), named(heavy(), "heavy"), named(light(), "light"))  # at: gather_phase


def named(coro, name):
    task = asyncio.ensure_future(coro)
    task.set_name(name)
    return task


async def child(units):
    await compute(units)  # at: child


async def group_phase():
    async with asyncio.TaskGroup() as group:  # at: group_phase
        group.create_task(child(2), name="child-2")
        group.create_task(child(1), name="child-1")


async def main():
    await gather_phase()  # at: main-gather
    if sys.version_info >= (3, 11):
        await group_phase()  # at: main-group


def idle_worker(done):
    while not done.is_set():
        time.sleep(0.005)  # at: idle_worker


done = threading.Event()
worker = threading.Thread(target=idle_worker, args=(done,), name="plain", daemon=True)
worker.start()
asyncio.run(main())
done.set()
worker.join()
