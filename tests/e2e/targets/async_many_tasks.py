"""The benchmark target of async_bench.py: N live asyncio tasks (ASYNC_TASKS, default 1000) for SECONDS (default 6),
each a request handler three coroutines deep (handle -> fetch -> asyncio.sleep) that wakes now and then to compute a
little, under a gather in main: a server's shape, with most tasks waiting at any moment."""
import asyncio
import os
import time

TASKS = int(os.environ.get("ASYNC_TASKS", "1000"))
SECONDS = float(os.environ.get("SECONDS", "6"))


def work():
    total = 0
    for i in range(200):
        total += i * i
    return total


async def fetch(i):
    await asyncio.sleep(0.05 + (i % 50) / 1000)
    return work()


async def handle(i, end):
    while time.monotonic() < end:
        await fetch(i)


async def main():
    end = time.monotonic() + SECONDS
    await asyncio.gather(*(asyncio.create_task(handle(i, end), name=f"handler-{i}") for i in range(TASKS)))


asyncio.run(main())
