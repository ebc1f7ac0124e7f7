"""The bridge's two throughput mechanisms and the guarantees they must keep.

- Group commit: many ``emit`` calls share one spool transaction, and each returns only once its readings
  are committed (a source acknowledges nothing a crash could lose), in the order they were emitted.
- Overlapped polling: a poll loop polls on while its last readings are committed (a few at most), and a
  poll that is a little late is made up at once rather than skipped.
- The ingest call's body, written by hand: byte for byte what ``xmlrpc.client`` writes.
- Overlapping ingest calls: a round of readings split by sensor into calls sent at once, settled (deleted
  from the spool) only once every call of it is answered, a failed call retried alone (nothing resent that
  Odoo answered for), a call Odoo fails as a whole bisected as before.
- Lanes: the running sender's lanes send on without waiting for one another, and still settle in spool
  order; a lane that fails retries alone.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
import xmlrpc.client

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mro_bridge.model import Reading
from mro_bridge.odoo import BatchError, TransientError, ingest_request, packed_ingest_request
from mro_bridge.pipeline import GroupCommit, Pipeline
from mro_bridge.sources._common import Overlapped, next_due
from mro_bridge.spool import Spool


def readings(n, code="A-1", start=1_700_000_000.0):
    return [Reading(code, start + i, float(i)) for i in range(n)]


class RecordingSpool(Spool):
    """A spool that records its commits and acknowledgements, and whose commits can be held (``gate``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.puts: list[int] = []
        self.acks: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def put(self, readings):
        self.gate.wait(10)
        self.puts.append(len(readings))
        return super().put(readings)

    def ack(self, ids):
        self.acks.append(list(ids))
        return super().ack(ids)


class SlowOdoo:
    """The ingest contract in-process, with a delay per sensor code, failures on demand, and a record of the
    calls under way at once."""

    def __init__(self, delays=None, bad=()):
        self.delays = delays or {}
        self.bad = set(bad)  # a call holding one of these (code, ts) fails as a whole, as Odoo would
        self.fail_next: dict[str, int] = {}  # code -> transient failures left for calls holding it
        self.stored: dict[tuple[str, float], float] = {}
        self.calls: list[list[str]] = []
        self.sizes: list[int] = []
        self.running = 0
        self.most_running = 0
        self.together: list[set[str]] = []  # the sensors of the calls under way, at each call's start
        self._under_way: dict[int, set[str]] = {}
        self.duplicates = 0
        self.finished: list[tuple[float, set[str]]] = []

    async def ingest(self, items):
        codes = {code for code, _, _ in items}
        self.calls.append(sorted(codes))
        self.sizes.append(len(items))
        key = len(self.calls)
        self._under_way[key] = codes
        self.together.append(set().union(*(c for k, c in self._under_way.items() if k != key)) & codes)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await asyncio.sleep(max(self.delays.get(code, 0.0) for code in codes))
            for code in codes:
                if self.fail_next.get(code):
                    self.fail_next[code] -= 1
                    raise TransientError("Odoo restarting")
            if any((code, ts) in self.bad for code, ts, _ in items):
                raise BatchError("Odoo failed: boom")
            accepted = duplicates = 0
            for code, ts, value in items:
                if (code, ts) in self.stored:
                    duplicates += 1
                else:
                    self.stored[(code, ts)] = value
                    accepted += 1
            self.duplicates += duplicates
            self.finished.append((time.monotonic(), codes))
            return {"accepted": accepted, "duplicates": duplicates, "rejected": []}
        finally:
            self.running -= 1
            del self._under_way[key]


# ---------------------------------------------------------------------- group commit
def test_concurrent_emits_share_a_commit_in_their_order(tmp_path):
    async def scenario():
        spool = RecordingSpool(tmp_path / "s.db")
        pipe = Pipeline(spool, SlowOdoo(), commit_interval=0.05)
        # 20 sources emitting at once: 20 puts, far fewer commits, every reading in emit order.
        await asyncio.gather(*(pipe.emit(readings(10, code=f"S{k:02d}")) for k in range(20)))
        assert sum(spool.puts) == 200 and len(spool.puts) < 5
        assert pipe.metrics.spooled == 200
        rows = spool.peek(1000)
        assert [row.code for row in rows] == [f"S{k:02d}" for k in range(20) for _ in range(10)]
        assert [row.id for row in rows] == sorted(row.id for row in rows)
        pipe.close()

    asyncio.run(scenario())


def test_a_group_holds_at_most_commit_max_readings(tmp_path):
    async def scenario():
        spool = RecordingSpool(tmp_path / "s.db")
        pipe = Pipeline(spool, SlowOdoo(), commit_interval=0.05, commit_max=30)
        await asyncio.gather(*(pipe.emit(readings(10, code=f"S{k:02d}")) for k in range(9)))
        assert spool.puts == [30, 30, 30]
        pipe.close()

    asyncio.run(scenario())


def test_emit_returns_only_once_its_readings_are_committed(tmp_path):
    async def scenario():
        spool = RecordingSpool(tmp_path / "s.db")
        pipe = Pipeline(spool, SlowOdoo(), commit_interval=0)
        await pipe.emit(readings(5, code="FIRST"))
        spool.gate.clear()  # the next commit is held (a slow disk)
        second = asyncio.create_task(pipe.emit(readings(5, code="SECOND")))
        await asyncio.sleep(0.2)
        assert not second.done()  # not acknowledged: a crash now would lose nothing a source was told
        assert Spool(tmp_path / "s.db").depth() == 5  # another connection sees only the first, committed
        spool.gate.set()
        await asyncio.wait_for(second, 5)
        assert Spool(tmp_path / "s.db").depth() == 10
        pipe.close()

    asyncio.run(scenario())


def test_a_failed_commit_fails_every_emit_of_its_group(tmp_path):
    async def scenario():
        calls = []
        disk = {"full": True}

        def put(readings):
            calls.append(len(readings))
            if disk["full"]:
                raise OSError("disk full")

        async def io(fn, *args):
            return fn(*args)

        group = GroupCommit(put, io, interval=0.05)
        results = await asyncio.gather(group.put(readings(3)), group.put(readings(4)), return_exceptions=True)
        assert calls == [7]
        assert all(isinstance(r, OSError) for r in results)
        disk["full"] = False
        await group.put(readings(2))  # the next group commits
        assert calls == [7, 2]

    asyncio.run(scenario())


def test_a_bridge_killed_mid_group_commit_keeps_every_acknowledged_reading(tmp_path):
    """Sources acknowledge after ``emit`` returned; SIGKILL at a random moment: each acknowledged reading is in
    the spool, and each source's readings are in its order."""
    path = tmp_path / "s.db"
    code = textwrap.dedent(
        f"""
        import asyncio
        from mro_bridge.model import Reading
        from mro_bridge.pipeline import Pipeline
        from mro_bridge.spool import Spool

        async def source(pipe, n):
            k = 0
            while True:
                await pipe.emit([Reading(f"S{{n}}", k * 10 + i, float(k)) for i in range(10)])
                print(n, k, flush=True)  # the acknowledgement
                k += 1

        async def main():
            pipe = Pipeline(Spool({str(path)!r}), None, commit_interval=0.005)
            await asyncio.gather(*(source(pipe, n) for n in range(8)))

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    acked: dict[str, int] = {}
    deadline = time.time() + 30
    while sum(acked.values()) < 400 and time.time() < deadline:
        n, k = proc.stdout.readline().split()
        acked[f"S{n}"] = int(k)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = Spool(path).peek(10**7)
    for code, last in acked.items():
        mine = [row.ts for row in rows if row.code == code]
        assert len(mine) >= (last + 1) * 10  # nothing acknowledged was lost
        assert mine == sorted(mine)  # in the source's order
    assert len(rows) % 10 == 0  # whole emits only


# ---------------------------------------------------------------------- overlapping ingest calls
def two_sensor_pipe(tmp_path, odoo, **kwargs):
    """A pipeline with two calls at once, and the names of two sensors that go to different calls."""
    pipe = Pipeline(RecordingSpool(tmp_path / "s.db"), odoo, batch_size=100, in_flight=2, **kwargs)
    codes = [f"T{k}" for k in range(20)]
    lanes = pipe._lanes([type("R", (), {"code": c})() for c in codes])  # which lane is which
    return pipe, lanes[0][0].code, lanes[1][0].code


def test_a_slow_first_call_and_a_fast_second_delete_nothing_out_of_order(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe, slow, fast = two_sensor_pipe(tmp_path, odoo)
        odoo.delays = {slow: 0.5}
        await pipe.emit(readings(50, code=slow) + readings(50, code=fast))
        task = asyncio.create_task(pipe.send_round())
        await asyncio.sleep(0.25)
        # The fast call is answered, the slow one not yet: nothing leaves the spool.
        assert [codes for _, codes in odoo.finished] == [{fast}]
        assert pipe.spool.acks == [] and pipe.spool.depth() == 100
        assert await task == 100
        assert len(pipe.spool.acks) == 1 and pipe.spool.acks[0] == sorted(pipe.spool.acks[0])
        assert pipe.spool.depth() == 0 and len(odoo.stored) == 100
        assert odoo.most_running == 2  # the two calls were under way at once
        pipe.close()

    asyncio.run(scenario())


def test_calls_at_once_never_share_a_sensor_nor_exceed_in_flight(tmp_path):
    async def scenario():
        odoo = SlowOdoo(delays={f"S{k:02d}": 0.01 for k in range(30)})
        pipe = Pipeline(RecordingSpool(tmp_path / "s.db"), odoo, batch_size=50, in_flight=3)
        for k in range(30):
            await pipe.emit(readings(40, code=f"S{k:02d}", start=1_700_000_000.0 + 1000 * k))
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 1200 and odoo.duplicates == 0
        assert odoo.most_running == 3
        assert not any(odoo.together)  # no sensor in two calls under way at once
        # Acknowledged in spool order: each round's ids all after the previous round's.
        acks = pipe.spool.acks
        assert all(max(a) < min(b) for a, b in itertools.pairwise(acks))
        pipe.close()

    asyncio.run(scenario())


def test_a_failed_call_is_retried_alone_and_settled_with_its_round(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe, failing, fine = two_sensor_pipe(tmp_path, odoo)
        odoo.fail_next = {failing: 2}
        await pipe.emit(readings(40, code=failing) + readings(40, code=fine))
        for _ in range(2):
            with pytest.raises(TransientError):
                await pipe.send_round()
            # The other call was answered, but nothing is deleted before the failed one is.
            assert pipe.spool.acks == [] and pipe.spool.depth() == 80
        assert await pipe.send_round() == 80
        assert pipe.spool.depth() == 0 and len(odoo.stored) == 80
        assert odoo.duplicates == 0  # what Odoo answered for was not sent again
        assert odoo.calls.count([fine]) == 1
        assert pipe.metrics.sent == 80
        pipe.close()

    asyncio.run(scenario())


def test_the_sender_overlaps_calls_and_recovers_from_a_failure(tmp_path):
    async def scenario():
        odoo = SlowOdoo(delays={"A": 0.02, "B": 0.02, "C": 0.02})
        odoo.fail_next = {"B": 1}
        pipe = Pipeline(RecordingSpool(tmp_path / "s.db"), odoo, batch_size=30, flush_interval=0.05, retry_initial=0.05)
        sender = asyncio.create_task(pipe.sender())
        for k in range(10):
            await pipe.emit([Reading(code, 1_700_000_000.0 + 10 * k + i, 1.0) for code in "ABC" for i in range(10)])
        for _ in range(200):
            if len(odoo.stored) == 300 and not pipe.spool.depth():
                break
            await asyncio.sleep(0.05)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        assert len(odoo.stored) == 300 and pipe.spool.depth() == 0 and odoo.duplicates == 0
        acks = pipe.spool.acks
        assert all(max(a) < min(b) for a, b in itertools.pairwise(acks))
        pipe.close()

    asyncio.run(scenario())


def test_a_call_odoo_fails_as_a_whole_is_bisected_beside_the_other_call(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe, bad_lane, good_lane = two_sensor_pipe(tmp_path, odoo)
        bad = readings(64, code=bad_lane)
        odoo.bad = {(bad_lane, bad[37].ts)}
        await pipe.emit(bad + readings(64, code=good_lane))
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 127 and pipe.spool.dead_letters() == 1
        letter = pipe.spool.list_dead_letters()[0]
        assert (letter["code"], letter["ts"]) == (bad_lane, bad[37].ts)
        assert "Odoo failed on this reading alone" in letter["reason"]
        assert pipe.metrics.bisections >= 6 and odoo.duplicates == 0
        pipe.close()

    asyncio.run(scenario())


def test_one_call_at_a_time_is_todays_sequential_sender(tmp_path):
    async def scenario():
        odoo = SlowOdoo(delays={f"S{k}": 0.01 for k in range(5)})
        pipe = Pipeline(RecordingSpool(tmp_path / "s.db"), odoo, batch_size=20, in_flight=1)
        for k in range(5):
            await pipe.emit(readings(20, code=f"S{k}"))
        assert await pipe.flush(timeout=10)
        assert odoo.most_running == 1 and len(odoo.stored) == 100
        pipe.close()

    asyncio.run(scenario())


def test_a_backlog_goes_in_large_calls_on_every_lane(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe, first, second = two_sensor_pipe(tmp_path, odoo)
        both = zip(readings(500, code=first), readings(500, code=second), strict=True)
        await pipe.emit([reading for pair in both for reading in pair])  # the sensors interleaved, as polled
        assert await pipe.send_round() == 800  # a backlog: two calls of four batches at once
        assert sorted(odoo.sizes) == [400, 400]
        assert await pipe.send_round() == 200
        assert sorted(odoo.sizes[2:]) == [100, 100]
        pipe.close()

    asyncio.run(scenario())


def test_readings_the_cap_dropped_while_odoo_was_down_are_not_sent(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe, first, second = two_sensor_pipe(tmp_path, odoo)
        pipe.spool.max_rows = 100
        odoo.fail_next = {first: 1}
        await pipe.emit(readings(50, code=first) + readings(50, code=second))
        with pytest.raises(TransientError):
            await pipe.send_round()  # the second call was answered, the first failed: the round waits
        newer = readings(50, code=first, start=1_800_000_000.0) + readings(50, code=second, start=1_800_000_000.0)
        await pipe.emit(newer)  # the cap drops the 100 oldest, the round's among them
        assert pipe.spool.dropped() == 100
        assert await pipe.flush(timeout=10)
        sent_again = {(code, ts) for code, ts in odoo.stored} - {(second, r.ts) for r in readings(50)}
        assert sent_again == {(r.code, r.ts) for r in newer}  # the dropped ones of the failed call not sent
        assert pipe.spool.depth() == 0
        pipe.close()

    asyncio.run(scenario())


def test_a_round_nothing_was_answered_for_is_taken_afresh(tmp_path):
    async def scenario():
        odoo = SlowOdoo()
        pipe = Pipeline(RecordingSpool(tmp_path / "s.db", max_rows=100), odoo, batch_size=50)
        odoo.fail_next = {"A-1": 1}
        await pipe.emit(readings(100))
        with pytest.raises(TransientError):
            await pipe.send_round()
        await pipe.emit(readings(100, start=1_800_000_000.0))  # the cap drops all of the first 100
        assert await pipe.flush(timeout=10)
        assert sorted(ts for _, ts in odoo.stored) == [r.ts for r in readings(100, start=1_800_000_000.0)]
        pipe.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- polling overlapped with the commit
def test_a_poll_loop_polls_on_while_its_readings_are_committed():
    async def scenario():
        release = asyncio.Event()
        emitted = []

        async def slow_emit(batch):  # a slow disk: the commit takes until released
            emitted.append(batch[0].value)
            await release.wait()

        out = Overlapped(slow_emit, depth=3)
        for k in range(3):  # three polls handed on while none of them is committed
            await asyncio.wait_for(out.submit([Reading("A", float(k), float(k))]), 1)
        fourth = asyncio.create_task(out.submit([Reading("A", 3.0, 3.0)]))
        await asyncio.sleep(0.1)
        assert not fourth.done()  # past ``depth`` emits under way the loop waits: memory stays bounded
        release.set()
        await asyncio.wait_for(fourth, 1)
        await out.close()
        assert emitted == [0.0, 1.0, 2.0, 3.0]  # in the order polled

    asyncio.run(scenario())


def test_a_failed_commit_stops_the_poll_loop_and_close_keeps_the_polled_readings():
    async def scenario():
        committed = []

        async def emit(batch):
            await asyncio.sleep(0.01)
            if batch[0].value == 1.0:
                raise OSError("disk full")
            committed.append(batch[0].value)

        out = Overlapped(emit, depth=2)
        await out.submit([Reading("A", 0.0, 0.0)])
        await out.submit([Reading("A", 1.0, 1.0)])
        await asyncio.sleep(0.05)
        with pytest.raises(OSError, match="disk full"):  # raised to the loop at its next hand-over
            await out.submit([Reading("A", 2.0, 2.0)])
        await out.close()  # the loop's way out: what was polled is still committed
        assert committed == [0.0, 2.0]

    asyncio.run(scenario())


def test_a_late_poll_is_made_up_at_once_and_a_slow_device_skips_slots():
    # due at 10.0, every 1 s: the poll ended at 11.2 (0.2 s late for 11.0) -> the next one at once, on the grid
    assert next_due(10.0, 1.0, 11.2) == 11.0
    # and at 11.7 (0.7 s late): 11.0 is skipped, the next slot on the grid is 12.0
    assert next_due(10.0, 1.0, 11.7) == pytest.approx(12.0)
    assert next_due(10.0, 1.0, 14.9) == pytest.approx(15.0)
    assert next_due(10.0, 1.0, 10.4) == 11.0  # in time


# ---------------------------------------------------------------------- the ingest call's body
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20),
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=30,
    ),
    st.text(max_size=10),
)
def test_the_fast_ingest_body_is_what_xmlrpc_writes(items, key):
    # Any sensor code (markup characters, lone surrogates), any finite number: byte for byte the standard body,
    # so Odoo's parser (and its strict fast path) reads it exactly as before.
    items = [list(item) for item in items]
    params = ("db", 7, key, "mro.sensor.reading", "ingest", [items])
    expected = xmlrpc.client.dumps(params, "execute_kw", allow_none=True).encode("utf-8", "xmlcharrefreplace")
    assert ingest_request("db", 7, key, items) == expected


def test_the_ingest_body_reads_back_as_the_readings():
    items = [["P-1&<2>", 1_700_000_000.25, -0.5], ["P-1&<2>", 1_700_000_001.0, 1e300], ["Q", 2.0, 3]]
    (db, uid, key, model, method, args), name = xmlrpc.client.loads(ingest_request("db", 7, "k", items))
    assert (name, db, uid, model, method) == ("execute_kw", "db", 7, "mro.sensor.reading", "ingest")
    assert args == [[["P-1&<2>", 1_700_000_000.25, -0.5], ["P-1&<2>", 1_700_000_001.0, 1e300], ["Q", 2.0, 3.0]]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P-1&<2>", "Q", "\u00e9t\u00e9", "A" * 64]),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=40,
    )
)
def test_the_packed_ingest_body_reads_back_as_the_same_readings_in_order(items):
    """The packed form (``ingest_packed``) carries each reading, in order, bit for bit (NaN and infinities
    too: Odoo rejects those by their index), each code once."""
    items = [list(item) for item in items]
    (db, uid, key, model, method, args), name = xmlrpc.client.loads(packed_ingest_request("db", 7, "k", items))
    assert (name, db, uid, key, model, method) == ("execute_kw", "db", 7, "k", "mro.sensor.reading", "ingest_packed")
    (batch,) = args
    codes, n = batch["codes"], len(items)
    assert len(codes) == len(set(codes)) == len({code for code, _, _ in items})
    sensors = struct.unpack(f"<{n}I", batch["sensor"].data)
    times = struct.unpack(f"<{n}d", batch["time"].data)
    values = struct.unpack(f"<{n}d", batch["value"].data)
    back = [[codes[i], ts, value] for i, ts, value in zip(sensors, times, values, strict=True)]
    assert [struct.pack("<dd", ts, v) for _, ts, v in back] == [struct.pack("<dd", ts, v) for _, ts, v in items]
    assert [code for code, _, _ in back] == [code for code, _, _ in items]


def test_the_packed_body_is_a_sixth_of_the_list_body():
    items = [[f"LINE1-PUMP{i % 200:03d}-VIB", 1_790_000_000.0 + i / 10, 1.0 + (i % 997) / 100] for i in range(5000)]
    packed, listed = packed_ingest_request("db", 7, "k", items), ingest_request("db", 7, "k", items)
    assert len(packed) * 5 < len(listed)


async def drain_and_stop(pipe, sender, timeout=2.0):
    """Let the running ``sender`` empty the spool (for ``timeout`` seconds at most), then stop it."""
    deadline = time.monotonic() + timeout
    while pipe.spool.depth() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)


def test_the_sender_lanes_do_not_wait_for_one_another_yet_settle_in_spool_order(tmp_path):
    """A slow lane does not hold a fast one back: the fast lane sends its next calls while the slow call is
    under way (the rounds of before made it wait). Yet nothing leaves the spool ahead of an older reading
    that Odoo has not answered for: a bridge killed then replays a tail, never leaves a hole. And once the
    slow call is answered, everything is settled, each reading stored once."""

    async def scenario():
        odoo = SlowOdoo()
        pipe, slow, fast = two_sensor_pipe(tmp_path, odoo, flush_interval=0.02)
        odoo.delays = {slow: 0.6, fast: 0.01}
        await pipe.emit(readings(50, code=slow) + readings(50, code=fast))
        sender = asyncio.create_task(pipe.sender())
        for k in range(1, 6):  # the fast sensor keeps reporting while the slow call is under way
            await asyncio.sleep(0.06)
            await pipe.emit(readings(20, code=fast, start=1_800_000_000.0 + 100 * k))
        await asyncio.sleep(0.1)
        assert odoo.running == 1 and odoo.calls.count([slow]) == 1  # the slow call is still under way
        assert odoo.calls.count([fast]) >= 3  # while the fast lane went on with its later readings
        assert len(odoo.stored) == 150 and pipe.spool.acks == []  # all answered but the slow 50: none deleted
        await drain_and_stop(pipe, sender)
        assert pipe.spool.depth() == 0 and len(odoo.stored) == 200 and odoo.duplicates == 0
        acked = [i for ack in pipe.spool.acks for i in ack]
        assert len(set(acked)) == len(acked) == 200  # each reading settled once
        assert pipe.metrics.sent == 200 and pipe.metrics.accepted == 200
        pipe.close()

    asyncio.run(scenario())


def test_a_lane_that_fails_is_retried_alone_while_the_other_goes_on(tmp_path):
    """A transient failure of one lane's call: that lane keeps its readings and retries them after its
    backoff; the other lane is not stopped. Every reading reaches Odoo once, and the spool empties."""

    async def scenario():
        odoo = SlowOdoo()
        pipe, failing, fine = two_sensor_pipe(tmp_path, odoo, flush_interval=0.02, retry_initial=0.3)
        odoo.fail_next = {failing: 1}
        await pipe.emit(readings(40, code=failing) + readings(40, code=fine))
        sender = asyncio.create_task(pipe.sender())
        await asyncio.sleep(0.08)
        await pipe.emit(readings(40, code=fine, start=1_800_000_000.0))
        await asyncio.sleep(0.08)  # within the failing lane's backoff
        assert sum(code == fine for code, _ in odoo.stored) == 80
        assert not any(code == failing for code, _ in odoo.stored)
        await drain_and_stop(pipe, sender)
        assert pipe.spool.depth() == 0 and len(odoo.stored) == 120 and odoo.duplicates == 0
        assert odoo.calls.count([failing]) == 2 and pipe.metrics.odoo_errors == 1
        pipe.close()

    asyncio.run(scenario())


def test_a_lane_gathers_a_batch_before_its_next_call_unless_the_flush_interval_passes(tmp_path):
    """Odoo's cost of a call is largely per sensor: a lane whose last call began less than flush_interval ago
    waits for a full batch rather than sending each handful of readings at once (which, at 40,000 readings/s,
    made calls of 3,400 readings and kept PostgreSQL a third busier). A quiet lane still sends what it has
    once flush_interval has passed."""

    async def scenario():
        odoo = SlowOdoo()
        pipe, a, b = two_sensor_pipe(tmp_path, odoo, flush_interval=0.5)  # batches of 100, two lanes
        odoo.delays = {a: 0.01, b: 0.01}
        sender = asyncio.create_task(pipe.sender())
        for k in range(40):  # about 600 readings/s a lane (a batch in a third of flush_interval), for 1.2 s
            await pipe.emit(
                [Reading(code, 1_700_000_000.0 + k * 0.05 + i * 0.001, float(i)) for code in (a, b) for i in range(20)]
            )
            await asyncio.sleep(0.02)
        quiet = time.monotonic()
        await pipe.emit([Reading(a, 1_800_000_000.0, 1.0)])  # then one reading alone
        while (a, 1_800_000_000.0) not in odoo.stored and time.monotonic() - quiet < 2:
            await asyncio.sleep(0.01)
        waited = time.monotonic() - quiet
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        assert len(odoo.stored) == 1601 and odoo.duplicates == 0
        full = sorted(odoo.sizes[:-1])
        assert full[len(full) // 2] >= 100, str(odoo.sizes)  # calls of a batch, not of each handful
        assert waited < 0.5 + 0.5 + 0.3  # the dispatcher's flush_interval, the lane's, and slack
        pipe.close()

    asyncio.run(scenario())
