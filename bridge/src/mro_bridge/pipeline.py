"""From sources to Odoo: deadband -> durable spool -> batches to ``ingest`` -> acknowledged or dead-lettered.

``emit`` (what sources call) filters by each tag's deadband and maximum silence, then returns only once the
readings are committed to the spool. The commits are grouped (:class:`GroupCommit`): the readings of every
``emit`` that arrives while a commit is under way, or within ``commit_interval`` of the first, go into the
spool in one transaction (one fsync), in the order they were emitted; each ``emit`` returns once its own
readings are in a committed transaction, so a source acknowledges nothing that a crash could lose.

The sender sends the spooled readings, oldest first, in ``in_flight`` *lanes*: each sensor always belongs to
the same lane, so calls under way at once never write the same rows in Odoo and never wait for one another
there. Whenever a full batch waits or ``flush_interval`` has passed, the readings not yet handed out go to
their lanes (at most two calls' worth per lane held at once); each lane sends what it holds in calls of
``batch_size`` (with a backlog, up to four batches a call), one after the other, as soon as its last call is
answered and it holds a batch, or ``flush_interval`` after its last call began (Odoo's cost of a call is
largely per sensor, so a handful of readings a call would waste it): a slow call holds back only its own
lane. Rows leave the spool only after Odoo answered, and in
order: a call's readings are settled (the accepted and duplicate readings removed, the rejected ones moved
to the dead letters with Odoo's reason) only once every older reading handed to a lane has been answered
too, so a bridge killed at any moment replays a tail of the spool, never leaves a hole in it. On a transient
failure (Odoo or the network down) a lane keeps what Odoo already answered for, nothing is removed, and the
readings of the call that failed are retried with exponential backoff (only they are sent again); Odoo's
unique (sensor, time) key makes every replay harmless. At shutdown, :meth:`flush` sends what is left in
*rounds* (the oldest readings, split by lane into calls sent at once, settled once all are answered).

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
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mro_bridge.model import Reading, TagCommon
from mro_bridge.odoo import BatchError, OdooError, OdooTransport, PermanentError, TransientError
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
#: Rows from which a round's per-row work (splitting it by sensor, the call's items, settling it) runs in a
#: worker thread instead of the event loop: there it is interrupted every few milliseconds for the loop, which
#: polls the devices on time, where a round of 10,000 readings would hold the loop for tens of milliseconds.
OFF_LOOP_ROWS = 1000


class Deadband:
    """Report-by-exception per tag: a value is kept when it moved more than the tag's deadband from the last
    kept one (absolute, or percent of its magnitude), or when ``max_silence`` seconds passed since."""

    def __init__(self, tags: dict[str, TagCommon]):
        self.tags = tags
        self._last: dict[str, tuple[float, float]] = {}
        #: The codes with a deadband: the others' readings are all kept, without looking at them one by one.
        self.banded = frozenset(code for code, tag in tags.items() if (tag.deadband or 0) > 0)

    def filter(self, readings: list[Reading]) -> list[Reading]:
        """The readings of ``readings`` to keep (``readings`` itself when no tag has a deadband)."""
        if not self.banded:
            return readings
        return [r for r in readings if self.keep(r)]

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
class _Round:
    """The readings the sender is settling: what Odoo answered for stays here until the whole round has been
    answered (then it is settled in one go), so that a call retried never loses or resends the others."""

    rows: list[Row]
    #: Readings per call at most (what ``call_size`` was when the round began).
    call_size: int = MAX_CALL
    answered: list[tuple[list[Row], dict]] = field(default_factory=list)
    lone: list[tuple[Row, str]] = field(default_factory=list)

    def todo(self) -> list[Row]:
        """The rows Odoo has not answered for yet, in spool order."""
        done = {row.id for part, _ in self.answered for row in part} | {row.id for row, _ in self.lone}
        return [row for row in self.rows if row.id not in done]


@dataclass
class _Lane:
    """One lane of the sender: the readings handed to it (in spool order) and those of its call in flight."""

    rows: list[Row] = field(default_factory=list)
    sending: list[Row] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class GroupCommit:
    """Readings from many ``emit`` calls committed to the spool in one transaction.

    :meth:`put` queues the readings and waits for the commit of the transaction that holds them. One commit
    runs at a time (in the spool's thread, through ``io``); the first ``put`` that finds none running starts
    one, which first waits up to ``interval`` seconds for more readings (or until ``max_readings`` are
    queued), then commits everything queued, in arrival order (several transactions of at most
    ``max_readings`` when more are queued), and repeats while readings keep arriving. A failed commit fails
    the ``put`` of each of its readings (none of them was acknowledged).
    """

    def __init__(self, put, io, interval: float = 0.01, max_readings: int = 50_000):
        self._put, self._io = put, io
        self.interval = interval
        self.max_readings = max_readings
        self._queue: list[tuple[list[Reading], asyncio.Future]] = []
        self._queued = 0
        self._full = asyncio.Event()
        self._committer: asyncio.Task | None = None
        self.commits = 0

    async def put(self, readings: list[Reading]) -> None:
        """Return once ``readings`` are committed (raise what the commit raised)."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((readings, done))
        self._queued += len(readings)
        if self._queued >= self.max_readings:
            self._full.set()
        if self._committer is None:
            # A task of its own, not this caller's: cancelling one source must not cancel the others' commit.
            self._committer = asyncio.get_running_loop().create_task(self._commit_all(), name="spool-commit")
        await done

    async def _commit_all(self) -> None:
        try:
            while self._queue:
                if self.interval > 0 and self._queued < self.max_readings:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self.interval)
                group, size = [], 0
                while self._queue and (not group or size + len(self._queue[0][0]) <= self.max_readings):
                    readings, done = self._queue.pop(0)
                    group.append((readings, done))
                    size += len(readings)
                self._queued -= size
                if self._queued < self.max_readings:
                    self._full.clear()
                try:
                    await self._io(self._put, [r for readings, _ in group for r in readings])
                except Exception as exc:  # handed to every waiting put, which raises it
                    for _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                self.commits += 1
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._committer = None


@dataclass
class _Bisection:
    """The search for the readings a batch Odoo failed as a whole fails on."""

    succeeded: bool = False
    lone: list[tuple[Row, str]] = field(default_factory=list)
    error: str = ""


class _OdooFails(Exception):
    """Too many single readings failed with no part succeeding: the bisection stops."""


@dataclass
class _Settlement:
    """What a round's answers come to: the rows to acknowledge (ids, sorted), those Odoo rejected (with its
    reason), the counts Odoo reported, and each acknowledged reading's age (s)."""

    done_ids: list[int]
    rejected: list[tuple[Row, str]]
    accepted: int
    duplicates: int
    latencies: list[float]


def _settlement(answered: list[tuple[list[Row], dict]], lone: list[tuple[Row, str]]) -> _Settlement:
    rejected = list(lone)
    done: list[Row] = []
    accepted = duplicates = 0
    for rows, answer in answered:
        refused = {}
        for item in answer.get("rejected") or []:
            index = item.get("index")
            if isinstance(index, int) and 0 <= index < len(rows):
                refused[index] = str(item.get("reason") or "rejected by Odoo")
        rejected += [(rows[i], reason) for i, reason in refused.items()]
        done += [row for i, row in enumerate(rows) if i not in refused] if refused else rows
        accepted += int(answer.get("accepted") or 0)
        duplicates += int(answer.get("duplicates") or 0)
    now = time.time()
    return _Settlement(sorted(row.id for row in done), rejected, accepted, duplicates, [now - row.ts for row in done])


def _check_answer(answer) -> dict:
    """``answer`` if it has the shape of an ingest answer (a dict; counts that are whole numbers; ``rejected`` a
    list of dicts), else PermanentError: something that is not Odoo's ingest (a proxy's page, a wrong URL, a
    hostile server) answered, and the readings stay in the spool rather than being acknowledged or crashing
    the sender."""
    rejected = answer.get("rejected") if isinstance(answer, dict) else None
    if (
        isinstance(answer, dict)
        and all(isinstance(answer.get(key) or 0, int) for key in ("accepted", "duplicates"))
        and isinstance(rejected or [], list)
        and all(isinstance(item, dict) for item in rejected or [])
    ):
        return answer
    raise PermanentError(f"Odoo's ingest answered something that is not an ingest answer: {str(answer)[:200]!r}")


def _items(rows: list[Row]) -> list[list]:
    """An ingest call's items: ``[code, ts, value]`` per row."""
    return [[row.code, row.ts, row.value] for row in rows]


async def _off_loop(rows: int, fn, *args):
    """``fn(*args)``: in a worker thread when it handles ``OFF_LOOP_ROWS`` rows or more, else at once."""
    if rows >= OFF_LOOP_ROWS:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


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
        flush_interval: float = 0.5,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
        in_flight: int = 2,
        commit_interval: float = 0.01,
        commit_max: int = 50_000,
    ):
        self.spool = spool
        self.odoo = odoo
        self.deadband = Deadband(tags or {})
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial, self.retry_max = retry_initial, retry_max
        #: Ingest calls sent at once (on disjoint sensors), see the module docstring.
        self.in_flight = max(1, in_flight)
        self.metrics = Metrics()
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._commits = GroupCommit(spool.put, self._io, commit_interval, commit_max)
        self._wake = asyncio.Event()
        self._stopping = False
        self._right_first = False
        self._round: _Round | None = None
        # While sender() runs: answered calls and lone failures not yet settled, the highest spool id handed
        # to a lane.
        self._answered: list[tuple[list[Row], dict]] = []
        self._lone: list[tuple[Row, str]] = []
        self._cursor = 0
        self._settling = asyncio.Lock()

    async def _io(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._disk, fn, *args)

    # ------------------------------------------------------------------ intake
    async def emit(self, readings: list[Reading]) -> None:
        """Take ``readings`` (returns once the kept ones are committed to the spool)."""
        self.metrics.received += len(readings)
        kept = self.deadband.filter(readings)
        self.metrics.filtered += len(readings) - len(kept)
        if kept:
            await self._commits.put(kept)
            self.metrics.spooled += len(kept)
            if self.spool.depth() >= self.batch_size:
                self._wake.set()

    async def dead_letter(self, key: str, ts: float | None, raw: str, reason: str) -> None:
        """Store something a source could not turn into a reading, with the reason."""
        await self._io(self.spool.add_dead_letter, key, ts, raw, reason)
        _log.warning("dead letter", extra={"event": "dead_letter", "key": key, "reason": reason})

    # ------------------------------------------------------------------ output
    def call_size(self, depth: int | None = None) -> int:
        """Readings in the next call: ``batch_size``, or up to BACKLOG_FACTOR times it with a backlog (of
        ``depth`` readings, the whole spool by default)."""
        if (self.spool.depth() if depth is None else depth) >= 2 * self.batch_size:
            return min(MAX_CALL, max(self.batch_size, BACKLOG_FACTOR * self.batch_size))
        return self.batch_size

    async def send_once(self) -> int:
        """Send one batch of the oldest spooled readings in one call (split in parts if Odoo fails it as a
        whole); returns how many were sent. Raises TransientError / PermanentError: the readings not yet
        settled stay in the spool."""
        rows: list[Row] = await self._io(self.spool.peek, self.call_size())
        if not rows:
            return 0
        batch = _Round(rows)
        try:
            await self._send_call(rows, batch)
        finally:  # what Odoo answered for is settled even when another part failed
            await self._settle_round(batch)
        return len(rows)

    async def send_round(self) -> int:
        """Send the current round (the oldest readings, up to ``in_flight`` calls' worth, split by sensor into
        calls sent at once), or what is left of it after a failure; settle it once every call is answered.
        Returns how many readings it settled (0: the spool is empty). Raises TransientError / PermanentError
        (the round is kept: the next call retries only the readings Odoo has not answered for)."""
        if self._round is not None and not (self._round.answered or self._round.lone):
            self._round = None  # nothing answered yet: the oldest readings afresh (the cap may have dropped some)
        if self._round is None:
            size = self.call_size()
            rows: list[Row] = await self._io(self.spool.peek, size * self.in_flight)
            if not rows:
                return 0
            self._round = _Round(rows, size)
        batch = self._round
        oldest = await self._io(self.spool.oldest_id)
        lanes = await _off_loop(len(batch.rows), self._round_lanes, batch, oldest)
        results = await asyncio.gather(*(self._send_lane(lane, batch) for lane in lanes), return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        for error in errors:
            if not isinstance(error, (TransientError, PermanentError)):
                raise error  # a bug or a cancellation: not Odoo's answer
        if errors:
            # The slow retry of a permanent error wins over the fast one of a transient error.
            raise next((e for e in errors if not isinstance(e, TransientError)), errors[0])
        self._round = None
        await self._settle_round(batch)
        return len(batch.rows)

    def _round_lanes(self, batch: _Round, oldest: int) -> list[list[Row]]:
        """What is left to send of ``batch``, in lanes; readings the cap dropped while the round waited (below
        ``oldest``) are not sent (they are counted as dropped)."""
        return self._lanes([row for row in batch.todo() if row.id >= oldest])

    def _lanes(self, rows: list[Row]) -> list[list[Row]]:
        """``rows`` split by sensor into at most ``in_flight`` lists (each in spool order), the same sensor
        always in the same list: calls sent at once then never write the same rows in Odoo (its hourly
        aggregates, its sensors' last values), so neither waits for the other or fails on it."""
        return [lane for lane in self._split(rows) if lane]

    async def _send_lane(self, rows: list[Row], batch: _Round) -> None:
        """One lane's readings, in calls of at most the round's call size one after the other (never two
        calls on the same sensors at once)."""
        size = batch.call_size
        for start in range(0, len(rows), size):
            await self._send_call(rows[start : start + size], batch)

    async def _send_call(self, rows: list[Row], batch: _Round) -> None:
        """Send ``rows`` in one call (split in parts if Odoo fails it as a whole); Odoo's answers, and the
        readings that fail on their own, go to ``batch`` for settling."""
        search = _Bisection()
        with contextlib.suppress(_OdooFails):
            await self._send_part(rows, search, batch)
        if search.lone and search.succeeded:
            batch.lone += search.lone
        elif search.lone:
            self._right_first = not self._right_first  # next time, explore the batch from its other end
            raise PermanentError(
                f"Odoo failed every part of a batch of {len(rows)}, down to single readings ({search.error}); "
                "the readings stay in the spool"
            )

    async def _send_part(self, rows: list[Row], search: _Bisection, batch: _Round) -> None:
        """Send ``rows``; on a BatchError, their halves (depth first), collecting readings that fail alone."""
        if not search.succeeded and len(search.lone) >= LONE_FAILURES_BEFORE_SUCCESS:
            raise _OdooFails
        items = await _off_loop(len(rows), _items, rows)
        started = time.monotonic()
        try:
            answer = _check_answer(await self.odoo.ingest(items))
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
                await self._send_part(part, search, batch)
            return
        except (TransientError, PermanentError) as exc:
            self._failed(exc)
            raise
        search.succeeded = True
        self.metrics.observe_write(time.monotonic() - started)
        self.metrics.odoo_up = True
        self.metrics.odoo_last_ok = time.time()
        batch.answered.append((rows, answer))

    def _failed(self, exc: Exception) -> None:
        self.metrics.odoo_errors += 1
        self.metrics.odoo_up = False
        self.metrics.odoo_last_error = str(exc)

    async def _settle_round(self, batch: _Round) -> None:
        """Settle what Odoo answered for in ``batch`` (and the readings that failed on their own): the rejected
        ones to the dead letters, the others out of the spool (one transaction each)."""
        answered, lone = batch.answered, batch.lone
        size = sum(len(rows) for rows, _ in answered)
        settled = await _off_loop(size, _settlement, answered, lone)
        batch.answered, batch.lone = [], []
        self.metrics.batches += len(answered)
        self.metrics.accepted += settled.accepted
        self.metrics.duplicates += settled.duplicates
        if settled.rejected:
            await self._reject(settled.rejected)
        if settled.done_ids:
            await self._io(self.spool.ack, settled.done_ids)
            self.metrics.observe_latency(settled.latencies)
            self.metrics.sent += len(settled.done_ids)

    async def _reject(self, rows: list[tuple[Row, str]]) -> None:
        await self._io(self.spool.dead_letter, rows)
        self.metrics.rejected += len(rows)
        for row, reason in rows[:5]:
            _log.warning(
                "Odoo rejected a reading",
                extra={"event": "rejected", "code": row.code, "ts": row.ts, "reason": reason},
            )

    async def sender(self) -> None:
        """Send until cancelled, in ``in_flight`` lanes that never wait for one another (see the module
        docstring): the dispatcher hands the spool's readings, oldest first, to the lane of their sensor
        whenever a full batch waits or ``flush_interval`` has passed, and each lane sends what it holds, one
        call after the other, as soon as its last call is answered."""
        lanes = [_Lane() for _ in range(self.in_flight)]
        self._answered, self._lone = [], []
        self._cursor = 0
        tasks = [asyncio.create_task(self._lane_sender(lane, lanes), name=f"lane-{k}") for k, lane in enumerate(lanes)]
        try:
            await asyncio.gather(self._dispatcher(lanes), *tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _outstanding(self, lanes: list[_Lane]) -> int:
        """Readings handed to the lanes and not yet settled."""
        held = sum(len(lane.rows) + len(lane.sending) for lane in lanes)
        return held + sum(len(rows) for rows, _ in self._answered) + len(self._lone)

    async def _dispatcher(self, lanes: list[_Lane]) -> None:
        """Hand the readings beyond ``_cursor`` to the lanes, at most two calls' worth per lane held at once."""
        last = time.monotonic()
        while True:
            outstanding = self._outstanding(lanes)
            waiting = self.spool.depth() - outstanding
            due = last + self.flush_interval
            room = 2 * self.in_flight * self.call_size() - outstanding
            if room <= 0 or (waiting < self.batch_size and time.monotonic() < due):
                self._wake.clear()
                timeout = self.flush_interval if room <= 0 else max(0.0, due - time.monotonic())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout)
                continue
            rows: list[Row] = await self._io(self.spool.peek_after, self._cursor, room)
            last = time.monotonic()
            if not rows:
                continue
            self._cursor = rows[-1].id
            for lane, part in zip(lanes, await _off_loop(len(rows), self._split, rows), strict=True):
                if part:
                    lane.rows.extend(part)
                    lane.ready.set()

    def _split(self, rows: list[Row]) -> list[list[Row]]:
        """``rows`` split by sensor into exactly ``in_flight`` lists (see :meth:`_lanes`)."""
        if self.in_flight == 1:
            return [rows]
        parts: list[list[Row]] = [[] for _ in range(self.in_flight)]
        for row in rows:
            parts[zlib.crc32(row.code.encode("utf-8", "backslashreplace")) % self.in_flight].append(row)
        return parts

    async def _lane_sender(self, lane: _Lane, lanes: list[_Lane]) -> None:
        """One lane: its oldest readings in calls of at most ``call_size``, one at a time; what Odoo did not
        answer goes back to the front of the lane and is retried with backoff."""
        delay = self.retry_initial
        started = -math.inf
        while True:
            if not lane.rows:
                lane.ready.clear()
                await lane.ready.wait()
                continue
            linger = started + self.flush_interval - time.monotonic()
            if len(lane.rows) < self.batch_size and linger > 0:
                # Less than a batch, and the last call began less than flush_interval ago: wait for more
                # (Odoo's cost of a call is largely per sensor, not per reading).
                lane.ready.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(lane.ready.wait(), timeout=linger)
                continue
            started = time.monotonic()
            size = self.call_size()
            lane.sending, lane.rows = lane.rows[:size], lane.rows[size:]
            oldest = await self._io(self.spool.oldest_id)
            rows = [row for row in lane.sending if row.id >= oldest]  # the cap dropped the others
            batch = _Round(rows, size)
            error: OdooError | None = None
            try:
                if rows:
                    await self._send_call(rows, batch)
            except (TransientError, PermanentError) as exc:
                error = exc
                lane.rows[:0] = batch.todo()
            lane.sending = []
            self._answered += batch.answered
            self._lone += batch.lone
            await self._settle_ready(lanes)
            if error is None:
                delay = self.retry_initial
            elif isinstance(error, TransientError):
                _log.warning(
                    "Odoo unavailable; readings stay in the spool", extra={"event": "odoo_down", "error": str(error)}
                )
                await asyncio.sleep(random.uniform(0.5, 1.0) * delay)
                delay = min(self.retry_max, delay * 2)
            else:
                _log.error(
                    "Odoo refused the batch; readings stay in the spool",
                    extra={"event": "odoo_refused", "error": str(error)},
                )
                await asyncio.sleep(self.retry_max)

    async def _settle_ready(self, lanes: list[_Lane]) -> None:
        """Settle, in spool order, what Odoo answered for: a call's readings leave the spool only once every
        older reading handed to a lane has been answered too (a crash then replays a tail, never a hole)."""
        async with self._settling:
            unanswered = [lane.sending[0].id for lane in lanes if lane.sending]
            unanswered += [lane.rows[0].id for lane in lanes if lane.rows]
            frontier = min(unanswered, default=math.inf)
            ready = [part for part in self._answered if part[0][-1].id < frontier]
            lone = [item for item in self._lone if item[0].id < frontier]
            if not ready and not lone:
                return
            self._answered = [part for part in self._answered if part[0][-1].id >= frontier]
            self._lone = [item for item in self._lone if item[0].id >= frontier]
            batch = _Round([])
            batch.answered, batch.lone = ready, lone
            await self._settle_round(batch)

    async def flush(self, timeout: float) -> bool:
        """Send what the spool holds until it is empty or ``timeout`` seconds passed; True when empty."""
        deadline = time.monotonic() + timeout
        while self.spool.depth() and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.send_round(), timeout=max(0.1, deadline - time.monotonic()))
            except (TransientError, PermanentError, asyncio.TimeoutError):
                return False
        return not self.spool.depth()

    def close(self) -> None:
        self._disk.shutdown(wait=True)
