"""What the protocol-source tests share: free ports, running a source until a condition, a restart loop."""

import asyncio
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def collect(src, until, timeout=10.0):
    """Run ``src`` until ``until(readings)`` holds; return the readings. Re-raises what run() raised; fails
    after ``timeout`` seconds."""
    readings = []
    done = asyncio.Event()

    async def emit(batch):
        readings.extend(batch)
        if until(readings):
            done.set()

    task = asyncio.create_task(src.run(emit))
    waiter = asyncio.create_task(done.wait())
    finished, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    waiter.cancel()
    await asyncio.gather(task, waiter, return_exceptions=True)
    if task in finished and not task.cancelled() and task.exception() is not None:
        raise task.exception()
    assert waiter in finished, f"condition not met within {timeout} s; got {len(readings)}, last {readings[-10:]!r}"
    return readings


async def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, f"{what} not met within {timeout} s"
        await asyncio.sleep(0.05)


class Restarter:
    """The smallest supervisor: runs ``src.run`` again 0.5 s after each failure, recording readings and
    failures (the real one adds backoff, jitter and silence detection)."""

    def __init__(self, src):
        self.src = src
        self.readings = []
        self.failures = []
        self.task = None

    async def _emit(self, batch):
        self.readings.extend(batch)

    async def _loop(self):
        while True:
            try:
                await self.src.run(self._emit)
            except Exception as exc:
                self.failures.append(exc)
                await asyncio.sleep(0.5)

    async def __aenter__(self):
        self.task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def latest(readings):
    """code -> last value."""
    return {r.code: r.value for r in readings}
