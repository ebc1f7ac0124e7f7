"""The durable spool: SQLite in WAL mode with ``synchronous=FULL``.

A reading counts as taken only once :meth:`Spool.put` has committed it (so a bridge killed at any moment
loses nothing it acknowledged: an MQTT message is acknowledged only after that; a Modbus or OPC-UA poll whose
readings are still being committed is lost as the poll in hand always could be). Rows leave only through
:meth:`ack` (Odoo answered) or :meth:`dead_letter` (Odoo refused them, with its reason). The spool has a
size cap: when full, the oldest readings make room — the only overflow policy, counted in a persistent
counter and logged. The dead letters have a cap of their own
(``max_dead_letters``): beyond it the oldest go, counted too, so that a flood of bad messages cannot fill
the disk.

One connection, used from one thread at a time (the pipeline runs every call in its own single worker
thread, so the asyncio loop never waits on the disk).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

from mro_bridge.model import Reading

_log = logging.getLogger(__name__)
#: Longest reason kept with a dead letter (characters); the raw text is bounded by its producer.
REASON_LIMIT = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    ts REAL NOT NULL,
    value REAL NOT NULL,
    taken REAL NOT NULL
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
        self._depth = self._db.execute("SELECT count(*) FROM readings").fetchone()[0]
        self._dead = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]

    # ------------------------------------------------------------------ writing
    def put(self, readings: list[Reading]) -> int:
        """Store ``readings`` durably (one transaction); returns how many old readings were dropped to stay
        within the cap."""
        if not readings:
            return 0
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO readings (code, ts, value, taken) VALUES (?, ?, ?, ?)",
                [(r.code, r.ts, r.value, now) for r in readings],
            )
            depth = self._depth + len(readings)
            dropped = max(0, depth - self.max_rows)
            if dropped:
                self._db.execute(
                    "DELETE FROM readings WHERE id IN (SELECT id FROM readings ORDER BY id LIMIT ?)", (dropped,)
                )
                self._bump("dropped", dropped)
        self._depth = depth - dropped
        if dropped:
            _log.warning(
                "spool full: dropped the oldest readings",
                extra={"event": "spool_overflow", "dropped": dropped, "cap": self.max_rows},
            )
        return dropped

    def peek(self, limit: int) -> list[Row]:
        """The oldest ``limit`` readings (still in the spool until acknowledged)."""
        with self._lock:
            rows = self._db.execute("SELECT id, code, ts, value FROM readings ORDER BY id LIMIT ?", (limit,)).fetchall()
        return list(map(Row._make, rows))

    def peek_after(self, after: int, limit: int) -> list[Row]:
        """The oldest ``limit`` readings whose spool id is above ``after``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, code, ts, value FROM readings WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        return list(map(Row._make, rows))

    def ack(self, ids: list[int]) -> None:
        """Remove readings Odoo has answered for."""
        if not ids:
            return
        first, last, count = min(ids), max(ids), len(set(ids))
        with self._lock:
            if last - first + 1 == count:  # a whole range (the usual case): three times cheaper than a list
                cur = self._db.execute("DELETE FROM readings WHERE id BETWEEN ? AND ?", (first, last))
            else:
                cur = self._db.execute(
                    "DELETE FROM readings WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
                )
            self._depth -= cur.rowcount

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
            cur = self._db.execute(
                "DELETE FROM readings WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps([row.id for row, _ in rows]),),
            )
            dropped = self._cap_dead_letters(len(rows))
        self._depth -= cur.rowcount
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
            row = self._db.execute("SELECT id FROM readings ORDER BY id LIMIT 1").fetchone()
        return row[0] if row else 0

    def oldest_age(self) -> float:
        """Seconds since the oldest unsent reading was taken (0 when the spool is empty)."""
        with self._lock:
            row = self._db.execute("SELECT taken FROM readings ORDER BY id LIMIT 1").fetchone()
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


def _text(value: str, limit: int | None = None) -> str:
    """``value`` as text SQLite can store (lone surrogates, which JSON may carry, escaped), at most ``limit``
    characters."""
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if limit is None or len(value) <= limit else value[: limit - 3] + "..."
