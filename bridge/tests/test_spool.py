"""The spool's chunks (a put per SQLite row) against a plain list of readings: whatever is put, acknowledged,
dead-lettered, dropped by the cap or read back, in any order and across reopenings, the spool holds exactly
the readings the list holds, in the same order, under ids that only grow."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mro_bridge import spool as spool_module
from mro_bridge.model import Reading
from mro_bridge.spool import Spool

SMALL_CHUNKS = 3  # chunks of at most 8 readings: puts of up to 20 readings span several


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(spool_module, "CHUNK_BITS", SMALL_CHUNKS)
    monkeypatch.setattr(spool_module, "CHUNK_MAX", 1 << SMALL_CHUNKS)
    monkeypatch.setattr(spool_module, "_PLACE", (1 << SMALL_CHUNKS) - 1)


codes = st.sampled_from(["A", "B-7", "plant/line 2/ü", "x\udcff"])  # a lone surrogate, as JSON may carry
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.lists(st.tuples(codes, st.floats(-1e300, 1e300)), max_size=20)),
        st.tuples(st.just("ack"), st.lists(st.integers(0, 40), max_size=25)),
        st.tuples(st.just("dead"), st.lists(st.integers(0, 40), max_size=5)),
        st.tuples(st.just("peek_after"), st.integers(-1, 40), st.integers(1, 30)),
        st.tuples(st.just("reopen")),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, cap=st.integers(5, 60))
def test_the_spool_holds_exactly_what_a_list_would(small_chunks, tmp_path_factory, ops, cap):
    path = tmp_path_factory.mktemp("spool") / "s.db"
    spool = Spool(path, max_rows=cap)
    held: list[tuple[str, float, float]] = []  # the model: readings still held, oldest first
    seen_ids: list[int] = []
    clock = 0.0
    dropped = 0
    for op in ops:
        rows = spool.peek(10**6)
        assert [(r.code, r.ts, r.value) for r in rows] == held
        assert [r.id for r in rows] == sorted({r.id for r in rows})
        assert spool.depth() == len(held)
        assert spool.oldest_id() == (rows[0].id if rows else 0)
        if op[0] == "put":
            batch = [Reading(code, clock + i, value) for i, (code, value) in enumerate(op[1])]
            clock += len(batch)
            over = max(0, len(held) + len(batch) - cap)
            assert spool.put(batch) == over
            held = (held + [(r.code, r.ts, r.value) for r in batch])[over:]
            dropped += over
            new = spool.peek(10**6)[-len(batch) :] if batch and len(held) >= len(batch) else []
            assert all(row.id > max(seen_ids, default=0) for row in new)  # ids only grow, never reused
            seen_ids += [row.id for row in new]
        elif op[0] in ("ack", "dead") and rows:
            picked = sorted({rows[k % len(rows)] for k in op[1]})
            if op[0] == "ack":
                spool.ack([row.id for row in picked] + [row.id for row in picked[:1]])  # a repeated id too
            else:
                before = spool.dead_letters()
                spool.dead_letter([(row, "refused") for row in picked])
                assert spool.dead_letters() == before + len(picked)
            gone = {(row.code, row.ts, row.value) for row in picked}
            held = [item for item in held if item not in gone]
            spool.ack([row.id for row in picked])  # acknowledging again removes nothing more
        elif op[0] == "peek_after":
            after = rows[op[1] % len(rows)].id if rows and op[1] >= 0 else 0
            expected = [r for r in rows if r.id > after][: op[2]]
            assert spool.peek_after(after, op[2]) == expected
        elif op[0] == "reopen":
            spool.close()
            spool = Spool(path, max_rows=cap)
    assert spool.depth() == len(held) and spool.dropped() == dropped
    spool.close()
    assert Spool(path, max_rows=cap).depth() == len(held)


def test_a_put_larger_than_a_chunk_is_one_transaction_of_several_chunks(small_chunks, tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.put([Reading("A", float(i), float(i)) for i in range(20)])
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT n FROM chunks ORDER BY id").fetchall() == [(8,), (8,), (4,)]
    rows = spool.peek(100)
    assert [r.value for r in rows] == [float(i) for i in range(20)]
    spool.ack([r.id for r in rows[:9]])  # the first chunk and one reading of the second
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT n, live FROM chunks ORDER BY id").fetchall() == [(8, 7), (4, 4)]
    assert spool.oldest_id() == rows[9].id and spool.depth() == 11


def test_a_spool_of_the_row_per_reading_layout_is_converted_in_order(tmp_path):
    """A bridge updated with readings still in its spool sends every one of them, oldest first, and keeps
    its dead letters and counters."""
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, ts REAL NOT NULL,
                                   value REAL NOT NULL, taken REAL NOT NULL);
            CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, ts REAL,
                                       value TEXT, reason TEXT NOT NULL, at REAL NOT NULL);
            CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT INTO counters VALUES ('dropped', 7);
            INSERT INTO dead_letters (code, ts, value, reason, at) VALUES ('plant/x', 1, '{', 'not JSON', 2);
            """
        )
        db.executemany(
            "INSERT INTO readings (code, ts, value, taken) VALUES (?, ?, ?, ?)",
            [(f"S{i % 3}", 1_700_000_000.0 + i, i * 0.5, 1_700_000_100.0) for i in range(50)],
        )
        db.execute("DELETE FROM readings WHERE id <= 10")  # acknowledged before the update
    spool = Spool(path)
    assert spool.depth() == 40 and spool.dropped() == 7 and spool.dead_letters() == 1
    rows = spool.peek(100)
    assert [(r.code, r.ts, r.value) for r in rows] == [
        (f"S{i % 3}", 1_700_000_000.0 + i, i * 0.5) for i in range(10, 50)
    ]
    spool.put([Reading("S9", 1.0, 2.0)])
    assert spool.peek(100)[-1].id > rows[-1].id
    spool.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "readings" not in tables
    assert Spool(path).depth() == 41  # converted once
