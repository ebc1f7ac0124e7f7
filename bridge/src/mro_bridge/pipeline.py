"""From sources to Odoo: deadband -> durable spool -> batches to ``ingest`` -> acknowledged or dead-lettered.

``emit`` (what sources call) filters by each tag's deadband and maximum silence, then returns only once the
readings are committed to the spool. The sender sends the oldest spooled readings in batches every
``flush_interval`` (at once when a full batch waits; with a backlog, up to four batches a call); rows leave
the spool only after Odoo answered: the
accepted and duplicate ones are removed, the rejected ones move to the dead letters with Odoo's reason.
On a transient failure (Odoo or the network down) nothing is removed and the batch is retried with
exponential backoff; Odoo's unique (sensor, time) key makes every replay harmless.

A batch Odoo fails as a whole (:class:`BatchError`: an error inside Odoo, whatever item caused it, or a
call too large to send) is split in halves, and halves of halves, each sent on its own: the parts Odoo
takes are settled as above, and a reading Odoo still fails on its own goes to the dead letters with
Odoo's error, so that one bad item never holds the rest back. A reading is dead-lettered that way only
when Odoo took another part of the same batch: when every part fails, down to single readings, it is
Odoo that fails, not the data, and everything stays in the spool (retried slowly, as for a permanent
error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mro_bridge.model import Reading, TagCommon
from mro_bridge.odoo import BatchError, OdooTransport, PermanentError, TransientError
from mro_bridge.spool import Row, Spool

_log = logging.getLogger(__name__)
#: With a backlog of at least two batches, a call carries up to this many batches at once (Odoo's cost per
#: reading drops by about half from 5,000 to 20,000 readings a call, so a backlog drains faster), and never
#: more than MAX_CALL readings, Odoo's limit for one ingest call.
BACKLOG_FACTOR = 4
MAX_CALL = 100_000
#: Readings that failed on their own while no part of the batch succeeded yet: past this many, the bisection
#: stops (Odoo itself is failing) and the next attempt explores the batch from its other end.
LONE_FAILURES_BEFORE_SUCCESS = 8


class Deadband:
    """Report-by-exception per tag: a value is kept when it moved more than the tag's deadband from the last
    kept one (absolute, or percent of its magnitude), or when ``max_silence`` seconds passed since."""

    def __init__(self, tags: dict[str, TagCommon]):
        self.tags = tags
        self._last: dict[str, tuple[float, float]] = {}

    def keep(self, reading: Reading) -> bool:
        tag = self.tags.get(reading.code)
        last = self._last.get(reading.code)
        if tag is None or last is None or not (tag.deadband or 0) > 0:
            self._last[reading.code] = (reading.value, reading.ts)
            return True
        value, ts = last
        band = tag.deadband if tag.deadband_mode == "absolute" else abs(value) * tag.deadband / 100.0
        moved = abs(reading.value - value) > band
        silent = tag.max_silence > 0 and reading.ts - ts >= tag.max_silence
        if moved or silent:
            self._last[reading.code] = (reading.value, reading.ts)
            return True
        return False


@dataclass
class Metrics:
    """What /metrics reports about the pipeline."""

    received: int = 0
    spooled: int = 0
    filtered: int = 0
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    bisections: int = 0
    odoo_errors: int = 0
    odoo_up: bool = False
    odoo_last_error: str = ""
    odoo_last_ok: float = 0.0
    write_seconds: list[float] = field(default_factory=list)
    latency_seconds: list[float] = field(default_factory=list)
    write_seconds_sum: float = 0.0

    def observe_write(self, seconds: float) -> None:
        self.write_seconds.append(seconds)
        self.write_seconds_sum += seconds
        del self.write_seconds[:-1000]

    def observe_latency(self, values: list[float]) -> None:
        self.latency_seconds.extend(values)
        del self.latency_seconds[:-20000]


@dataclass
class _Bisection:
    """The search for the readings a batch Odoo failed as a whole fails on."""

    succeeded: bool = False
    lone: list[tuple[Row, str]] = field(default_factory=list)
    error: str = ""


class _OdooFails(Exception):
    """Too many single readings failed with no part succeeding: the bisection stops."""


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Pipeline:
    """Owns the spool and the sender; sources call :meth:`emit` (and :meth:`dead_letter` for items that
    never became readings)."""

    def __init__(
        self,
        spool: Spool,
        odoo: OdooTransport,
        tags: dict[str, TagCommon] | None = None,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
    ):
        self.spool = spool
        self.odoo = odoo
        self.deadband = Deadband(tags or {})
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self.metrics = Metrics()
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._wake = asyncio.Event()
        self._stopping = False
        self._right_first = False

    async def _io(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._disk, fn, *args)

    # ------------------------------------------------------------------ intake
    async def emit(self, readings: list[Reading]) -> None:
        """Take ``readings`` (returns once the kept ones are committed to the spool)."""
        self.metrics.received += len(readings)
        kept = [r for r in readings if self.deadband.keep(r)]
        self.metrics.filtered += len(readings) - len(kept)
        if kept:
            await self._io(self.spool.put, kept)
            self.metrics.spooled += len(kept)
            if self.spool.depth() >= self.batch_size:
                self._wake.set()

    async def dead_letter(self, key: str, ts: float | None, raw: str, reason: str) -> None:
        """Store something a source could not turn into a reading, with the reason."""
        await self._io(self.spool.add_dead_letter, key, ts, raw, reason)
        _log.warning("dead letter", extra={"event": "dead_letter", "key": key, "reason": reason})

    # ------------------------------------------------------------------ output
    def call_size(self) -> int:
        """Readings in the next call: ``batch_size``, or up to BACKLOG_FACTOR times it with a backlog."""
        if self.spool.depth() >= 2 * self.batch_size:
            return min(MAX_CALL, max(self.batch_size, BACKLOG_FACTOR * self.batch_size))
        return self.batch_size

    async def send_once(self) -> int:
        """Send one batch of the oldest spooled readings (split in parts if Odoo fails it as a whole); returns
        how many were sent. Raises TransientError / PermanentError: the readings not yet settled stay in
        the spool."""
        rows: list[Row] = await self._io(self.spool.peek, self.call_size())
        if not rows:
            return 0
        search = _Bisection()
        with contextlib.suppress(_OdooFails):
            await self._send_part(rows, search)
        if search.lone and search.succeeded:
            await self._reject(search.lone)
        elif search.lone:
            self._right_first = not self._right_first  # next time, explore the batch from its other end
            raise PermanentError(
                f"Odoo failed every part of a batch of {len(rows)}, down to single readings ({search.error}); "
                "the readings stay in the spool"
            )
        return len(rows)

    async def _send_part(self, rows: list[Row], search: _Bisection) -> None:
        """Send ``rows``; on a BatchError, their halves (depth first), collecting readings that fail alone."""
        if not search.succeeded and len(search.lone) >= LONE_FAILURES_BEFORE_SUCCESS:
            raise _OdooFails
        started = time.monotonic()
        try:
            answer = await self.odoo.ingest([[row.code, row.ts, row.value] for row in rows])
        except BatchError as exc:
            self._failed(exc)
            search.error = str(exc)
            if len(rows) == 1:
                search.lone.append((rows[0], f"Odoo failed on this reading alone: {exc}"))
                return
            self.metrics.bisections += 1
            half = len(rows) // 2
            parts = [rows[:half], rows[half:]]
            for part in reversed(parts) if self._right_first else parts:
                await self._send_part(part, search)
            return
        except (TransientError, PermanentError) as exc:
            self._failed(exc)
            raise
        search.succeeded = True
        self.metrics.observe_write(time.monotonic() - started)
        self.metrics.odoo_up = True
        self.metrics.odoo_last_ok = time.time()
        await self._settle(rows, answer)

    def _failed(self, exc: Exception) -> None:
        self.metrics.odoo_errors += 1
        self.metrics.odoo_up = False
        self.metrics.odoo_last_error = str(exc)

    async def _settle(self, rows: list[Row], answer: dict) -> None:
        """Odoo answered for ``rows``: the rejected ones to the dead letters, the others out of the spool."""
        rejected = {}
        for item in answer.get("rejected") or []:
            index = item.get("index")
            if isinstance(index, int) and 0 <= index < len(rows):
                rejected[index] = str(item.get("reason") or "rejected by Odoo")
        if rejected:
            await self._reject([(rows[i], reason) for i, reason in rejected.items()])
        done = [row for i, row in enumerate(rows) if i not in rejected]
        await self._io(self.spool.ack, [row.id for row in done])
        now = time.time()
        self.metrics.observe_latency([now - row.ts for row in done])
        self.metrics.batches += 1
        self.metrics.sent += len(done)
        self.metrics.accepted += int(answer.get("accepted") or 0)
        self.metrics.duplicates += int(answer.get("duplicates") or 0)

    async def _reject(self, rows: list[tuple[Row, str]]) -> None:
        await self._io(self.spool.dead_letter, rows)
        self.metrics.rejected += len(rows)
        for row, reason in rows[:5]:
            _log.warning(
                "Odoo rejected a reading",
                extra={"event": "rejected", "code": row.code, "ts": row.ts, "reason": reason},
            )

    async def sender(self) -> None:
        """Send until cancelled: a batch whenever one is full or ``flush_interval`` has passed."""
        delay = self.retry_initial
        while True:
            try:
                sent = await self.send_once()
                delay = self.retry_initial
            except TransientError as exc:
                _log.warning(
                    "Odoo unavailable; readings stay in the spool", extra={"event": "odoo_down", "error": str(exc)}
                )
                await asyncio.sleep(random.uniform(0.5, 1.0) * delay)
                delay = min(self.retry_max, delay * 2)
                continue
            except PermanentError as exc:
                _log.error(
                    "Odoo refused the batch; readings stay in the spool",
                    extra={"event": "odoo_refused", "error": str(exc)},
                )
                await asyncio.sleep(self.retry_max)
                continue
            if sent >= self.batch_size:
                continue  # a backlog: keep sending
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval)

    async def flush(self, timeout: float) -> bool:
        """Send what the spool holds until it is empty or ``timeout`` seconds passed; True when empty."""
        deadline = time.monotonic() + timeout
        while self.spool.depth() and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.send_once(), timeout=max(0.1, deadline - time.monotonic()))
            except (TransientError, PermanentError, asyncio.TimeoutError):
                return False
        return not self.spool.depth()

    def close(self) -> None:
        self._disk.shutdown(wait=True)
