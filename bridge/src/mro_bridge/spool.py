"""The durable spool: SQLite in WAL mode with ``synchronous=FULL``.

A reading counts as taken only once :meth:`Spool.put` has committed it (so a bridge killed at any moment
loses nothing it acknowledged: an MQTT message is acknowledged only after that; a Modbus or OPC-UA poll whose
readings are still being committed is lost as the poll in hand always could be). Rows leave only through
:meth:`ack` (Odoo answered) or :meth:`dead_letter` (Odoo refused them, with its reason). The spool has a
size cap: when full, the oldest readings make room — the only overflow policy, counted in a persistent
counter and logged. The dead letters have a cap of their own
(``max_dead_letters``): beyond it the oldest go, counted too, so that a flood of bad messages cannot fill
the disk.

Each :meth:`put` is stored as one *chunk*: one SQLite row holding its readings packed (the codes as JSON,
the times and values as arrays of doubles), not one row per reading. A reading's spool id is its chunk's id
shifted left by ``CHUNK_BITS`` plus its place in the chunk, so ids keep the order readings were put in. The
readings of a chunk that have left (acknowledged, dead-lettered or dropped by the cap) are marked in the
chunk's bitmap; the chunk goes once none is left. At 40,000 readings/s this costs the bridge a tenth of
the processor time a row per reading did (``bench/spool.py``). A spool file of the earlier layout (a row
per reading) is converted when it is opened, its readings kept in order.

One connection, used from one thread at a time (the pipeline runs every call in its own single worker
thread, so the asyncio loop never waits on the disk).
"""

from __future__ import annotations

import array
import bisect
import contextlib
import itertools
import json
import logging
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

from mro_bridge.model import Reading

_log = logging.getLogger(__name__)
#: Longest reason kept with a dead letter (characters); the raw text is bounded by its producer.
REASON_LIMIT = 1000
#: A reading's spool id is ``chunk id << CHUNK_BITS | place in the chunk``; a chunk holds at most
#: ``CHUNK_MAX`` readings (a larger put is stored as several chunks, in one transaction).
CHUNK_BITS = 20
CHUNK_MAX = 1 << CHUNK_BITS
_PLACE = CHUNK_MAX - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    n INTEGER NOT NULL,
    live INTEGER NOT NULL,
    taken REAL NOT NULL,
    codes TEXT NOT NULL,
    ts BLOB NOT NULL,
    value BLOB NOT NULL,
    gone BLOB
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    ts REAL,
    value TEXT,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Row(NamedTuple):
    """A spooled reading with its spool id (a named tuple: a call's worth of them is built ten times faster
    than as dataclasses)."""

    id: int
    code: str
    ts: float
    value: float


def _doubles(values) -> bytes:
    """``values`` as little-endian doubles (the spool file reads the same on any machine)."""
    packed = array.array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _floats(blob: bytes) -> array.array:
    packed = array.array("d")
    packed.frombytes(blob)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed


class _Chunk(NamedTuple):
    """A chunk's bookkeeping: its id, size, readings left and the bitmap of those gone (an int, bit k for
    place k; 0 when none is gone)."""

    id: int
    n: int
    live: int
    gone: int

    def places(self) -> list[int]:
        """The places of the readings still held, in order."""
        gone = self.gone
        return [k for k in range(self.n) if not gone >> k & 1] if gone else list(range(self.n))


def _chunk(row) -> _Chunk:
    return _Chunk(row[0], row[1], row[2], int.from_bytes(row[3], "little") if row[3] else 0)


class Spool:
    """A size-capped, durable FIFO of readings, plus the dead letters (see the module docstring)."""

    def __init__(self, path: str | Path, max_rows: int = 5_000_000, max_dead_letters: int = 100_000):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows
        self.max_dead_letters = max_dead_letters
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._convert_row_per_reading()
        self._depth = self._db.execute("SELECT coalesce(sum(live), 0) FROM chunks").fetchone()[0]
        self._dead = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]

    def _convert_row_per_reading(self) -> None:
        """A spool of the earlier layout (table ``readings``, a row per reading): its readings into chunks,
        in order, and the table dropped, in one transaction."""
        old = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'").fetchone()
        if not old:
            return
        with self._transaction():
            cur = self._db.execute("SELECT code, ts, value, taken FROM readings ORDER BY id")
            moved = 0
            while rows := cur.fetchmany(CHUNK_MAX):
                self._insert_chunk([Reading(*row[:3]) for row in rows], rows[0][3])
                moved += len(rows)
            self._db.execute("DROP TABLE readings")
        _log.info("spool converted to chunks", extra={"event": "spool_converted", "readings": moved})

    # ------------------------------------------------------------------ writing
    def put(self, readings: list[Reading]) -> int:
        """Store ``readings`` durably (one transaction); returns how many old readings were dropped to stay
        within the cap."""
        if not readings:
            return 0
        now = time.time()
        with self._transaction():
            for start in range(0, len(readings), CHUNK_MAX):
                self._insert_chunk(readings[start : start + CHUNK_MAX], now)
            depth = self._depth + len(readings)
            dropped = max(0, depth - self.max_rows)
            if dropped:
                self._drop_oldest(dropped)
                self._bump("dropped", dropped)
        self._depth = depth - dropped
        if dropped:
            _log.warning(
                "spool full: dropped the oldest readings",
                extra={"event": "spool_overflow", "dropped": dropped, "cap": self.max_rows},
            )
        return dropped

    def _insert_chunk(self, readings: list[Reading], taken: float) -> None:
        self._db.execute(
            "INSERT INTO chunks (n, live, taken, codes, ts, value) VALUES (?, ?, ?, ?, ?, ?)",
            (
                len(readings),
                len(readings),
                taken,
                json.dumps([r.code for r in readings]),
                _doubles([r.ts for r in readings]),
                _doubles([r.value for r in readings]),
            ),
        )

    def _drop_oldest(self, count: int) -> None:
        """Inside a write transaction: remove the ``count`` oldest readings."""
        cur = self._db.execute("SELECT id, n, live, gone FROM chunks ORDER BY id")
        while count > 0 and (row := cur.fetchone()):
            chunk = _chunk(row)
            places = chunk.places()[:count]
            self._remove(chunk, places)
            count -= len(places)

    def _remove(self, chunk: _Chunk, places) -> int:
        """Inside a write transaction: mark ``places`` of ``chunk`` gone (the chunk goes with its last
        reading); returns how many were still held."""
        gone = chunk.gone
        for place in places:
            gone |= 1 << place
        left = chunk.n - gone.bit_count()
        if left <= 0:
            self._db.execute("DELETE FROM chunks WHERE id = ?", (chunk.id,))
        elif left != chunk.live:
            self._db.execute(
                "UPDATE chunks SET live = ?, gone = ? WHERE id = ?",
                (left, gone.to_bytes((chunk.n + 7) // 8, "little"), chunk.id),
            )
        return chunk.live - left

    def _remove_ids(self, ids) -> int:
        """Inside a write transaction: remove the readings of spool ids ``ids`` still held; returns how many
        were."""
        ids = sorted(set(ids))
        if not ids:
            return 0
        first, last = ids[0] >> CHUNK_BITS, ids[-1] >> CHUNK_BITS
        rows = self._db.execute(
            "SELECT id, n, live, gone FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id", (first, last)
        ).fetchall()
        whole, removed = [], 0
        for row in rows:
            chunk = _chunk(row)
            lo = bisect.bisect_left(ids, chunk.id << CHUNK_BITS)
            hi = bisect.bisect_left(ids, (chunk.id + 1) << CHUNK_BITS, lo)
            if hi - lo >= chunk.n and ids[hi - 1] & _PLACE < chunk.n:  # the whole chunk (ids are distinct)
                whole.append((chunk.id,))
                removed += chunk.live
            elif hi > lo:
                removed += self._remove(chunk, [i & _PLACE for i in ids[lo:hi]])
        if whole:
            self._db.executemany("DELETE FROM chunks WHERE id = ?", whole)
        return removed

    def peek(self, limit: int) -> list[Row]:
        """The oldest ``limit`` readings (still in the spool until acknowledged)."""
        return self.peek_after(0, limit)

    def peek_after(self, after: int, limit: int) -> list[Row]:
        """The oldest ``limit`` readings whose spool id is above ``after``."""
        rows: list[Row] = []
        with self._lock:
            cur = self._db.execute(
                "SELECT id, n, live, gone, codes, ts, value FROM chunks WHERE id >= ? ORDER BY id",
                (after >> CHUNK_BITS,),
            )
            while len(rows) < limit and (row := cur.fetchone()):
                rows += _unpack(row, after, limit - len(rows))
            cur.close()
        return rows

    def ack(self, ids: list[int]) -> None:
        """Remove readings Odoo has answered for."""
        if not ids:
            return
        with self._transaction():
            removed = self._remove_ids(ids)
        self._depth -= removed

    def dead_letter(self, rows: list[tuple[Row, str]]) -> None:
        """Move readings Odoo refused to the dead letters, each with its reason (one transaction)."""
        if not rows:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO dead_letters (code, ts, value, reason, at) VALUES (?, ?, ?, ?, ?)",
                [(_text(row.code), row.ts, repr(row.value), _text(reason, REASON_LIMIT), now) for row, reason in rows],
            )
            removed = self._remove_ids([row.id for row, _ in rows])
            dropped = self._cap_dead_letters(len(rows))
        self._depth -= removed
        self._dead += len(rows) - dropped

    def add_dead_letter(self, code: str, ts: float | None, raw: str, reason: str) -> None:
        """Store an item that never became a reading (e.g. an unusable MQTT payload) with its reason."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO dead_letters (code, ts, value, reason, at) VALUES (?, ?, ?, ?, ?)",
                (_text(code), ts, _text(raw), _text(reason, REASON_LIMIT), time.time()),
            )
            dropped = self._cap_dead_letters(1)
        self._dead += 1 - dropped

    def _cap_dead_letters(self, added: int) -> int:
        """Inside a write transaction: delete the oldest dead letters beyond the cap, count them."""
        dropped = max(0, self._dead + added - self.max_dead_letters)
        if dropped:
            self._db.execute(
                "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)", (dropped,)
            )
            self._bump("dead_letters_dropped", dropped)
        return dropped

    # ------------------------------------------------------------------ reading
    def depth(self) -> int:
        return self._depth

    def dead_letters(self) -> int:
        """Dead letters held (at most ``max_dead_letters``)."""
        return self._dead

    def dropped(self) -> int:
        """Readings dropped by the overflow policy, ever (persistent)."""
        return self._counter("dropped")

    def dead_letters_dropped(self) -> int:
        """Dead letters deleted to stay within ``max_dead_letters``, ever (persistent)."""
        return self._counter("dead_letters_dropped")

    def _counter(self, name: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def oldest_id(self) -> int:
        """The spool id of the oldest reading held (0 when the spool is empty): those below are gone."""
        with self._lock:
            row = self._db.execute("SELECT id, n, live, gone FROM chunks ORDER BY id LIMIT 1").fetchone()
        if not row:
            return 0
        chunk = _chunk(row)
        return chunk.id << CHUNK_BITS | ((~chunk.gone & (chunk.gone + 1)).bit_length() - 1)

    def oldest_age(self) -> float:
        """Seconds since the oldest unsent reading was taken (0 when the spool is empty)."""
        with self._lock:
            row = self._db.execute("SELECT taken FROM chunks ORDER BY id LIMIT 1").fetchone()
        return max(0.0, time.time() - row[0]) if row else 0.0

    def list_dead_letters(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT code, ts, value, reason, at FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(("code", "ts", "value", "reason", "at"), row, strict=False)) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self):
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, durable on return), under the lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _bump(self, name: str, by: int) -> None:
        """Inside a write transaction: add ``by`` to the persistent counter ``name``."""
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )


def _unpack(row, after: int, limit: int) -> list[Row]:
    """The readings of one chunk (a row of ``chunks``) held and with an id above ``after``, at most
    ``limit``."""
    chunk = _chunk(row[:4])
    base = chunk.id << CHUNK_BITS
    codes, ts, values = json.loads(row[4]), _floats(row[5]), _floats(row[6])
    skip = after - base + 1 if after >= base else 0
    if not chunk.gone:
        stop = min(chunk.n, skip + limit)
        ids = range(base + skip, base + stop)
        rows = zip(ids, codes[skip:stop], ts[skip:stop], values[skip:stop], strict=True)
        return list(map(tuple.__new__, itertools.repeat(Row, len(ids)), rows))  # Row._make without its checks
    places = [k for k in chunk.places() if k >= skip][:limit]
    return [Row(base + k, codes[k], ts[k], values[k]) for k in places]


def _text(value: str, limit: int | None = None) -> str:
    """``value`` as text SQLite can store (lone surrogates, which JSON may carry, escaped), at most ``limit``
    characters."""
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if limit is None or len(value) <= limit else value[: limit - 3] + "..."
