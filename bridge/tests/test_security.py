"""The bridge on a hostile day: a batch Odoo fails as a whole, and how the transport sorts Odoo's failures.

In-process doubles of Odoo (the ingest contract) and a real XML-RPC server for the transport; the real-Odoo
versions of these attacks are in the repository's tests/security/."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import xmlrpc.client
import xmlrpc.server

import pytest

from mro_bridge.model import Reading
from mro_bridge.odoo import BatchError, PermanentError, TransientError, XmlRpcOdoo
from mro_bridge.pipeline import LONE_FAILURES_BEFORE_SUCCESS, Pipeline
from mro_bridge.spool import Spool


# ---------------------------------------------------------------------- a batch Odoo fails as a whole
class PickyOdoo:
    """The ingest contract, failing a whole call when it carries a poisoned value (as PostgreSQL failed on
    an overflowing sum), or more than ``max_items`` (as a body over 16 MiB); ``broken``: fails every call."""

    def __init__(self, poison=(), max_items=None):
        self.poison = set(poison)
        self.max_items = max_items
        self.broken = False
        self.stored: dict[tuple[str, float], float] = {}
        self.calls: list[int] = []

    async def ingest(self, items):
        self.calls.append(len(items))
        if self.broken:
            raise BatchError("Odoo failed: KeyError: 'mro.sensor.reading'")
        if self.max_items is not None and len(items) > self.max_items:
            raise BatchError("Odoo answered HTTP 413 REQUEST ENTITY TOO LARGE: the call is too large")
        if any(value in self.poison for _code, _ts, value in items):
            raise BatchError("Odoo failed: psycopg2.errors.NumericValueOutOfRange: value out of range: overflow")
        accepted = 0
        for code, ts, value in items:
            if (code, ts) not in self.stored:
                self.stored[(code, ts)] = value
                accepted += 1
        return {"accepted": accepted, "duplicates": len(items) - accepted, "rejected": []}


def readings(n, start=1_700_000_000.0):
    return [Reading("A-1", start + i, float(i)) for i in range(n)]


def test_one_poisoned_reading_goes_to_the_dead_letters_and_the_rest_flows(tmp_path):
    async def scenario():
        odoo = PickyOdoo(poison={1.6e308})
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=64)
        batch = readings(100)
        batch[37] = Reading("A-1", batch[37].ts, 1.6e308)
        batch[38] = Reading("A-1", batch[38].ts, 1.6e308)
        await pipe.emit(batch)
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 98 and 1.6e308 not in odoo.stored.values()
        letters = pipe.spool.list_dead_letters()
        assert sorted(d["ts"] for d in letters) == [batch[37].ts, batch[38].ts]
        assert all("Odoo failed on this reading alone" in d["reason"] and "overflow" in d["reason"] for d in letters)
        assert pipe.metrics.bisections > 0 and pipe.metrics.rejected == 2
        # a bisection, not one call per reading
        assert len(odoo.calls) < 40
        pipe.close()

    asyncio.run(scenario())


def test_a_call_too_large_is_split_and_nothing_is_dead_lettered(tmp_path):
    async def scenario():
        odoo = PickyOdoo(max_items=30)
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=100)
        await pipe.emit(readings(100))
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 100 and pipe.spool.dead_letters() == 0
        pipe.close()

    asyncio.run(scenario())


def test_when_odoo_fails_every_call_nothing_is_dead_lettered(tmp_path):
    """A broken Odoo (a module missing, a bug) is not bad data: the spool keeps everything until it is fixed."""

    async def scenario():
        odoo = PickyOdoo()
        odoo.broken = True
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=1000)
        await pipe.emit(readings(1000))
        for _ in range(3):
            with pytest.raises(PermanentError, match="Odoo failed every part of a batch of 1000"):
                await pipe.send_once()
        assert pipe.spool.depth() == 1000 and pipe.spool.dead_letters() == 0
        # bounded work per attempt: a descent to single readings, then a few of them
        assert len(odoo.calls) <= 3 * (10 + 2 * LONE_FAILURES_BEFORE_SUCCESS)
        odoo.broken = False
        assert await pipe.flush(timeout=10)
        assert len(odoo.stored) == 1000 and pipe.spool.dead_letters() == 0
        pipe.close()

    asyncio.run(scenario())


def test_many_poisoned_readings_at_the_head_do_not_stall_the_spool(tmp_path):
    async def scenario():
        odoo = PickyOdoo(poison={-1.0})
        pipe = Pipeline(Spool(tmp_path / "s.db"), odoo, batch_size=200)
        head = [Reading("A-1", 1_600_000_000.0 + i, -1.0) for i in range(LONE_FAILURES_BEFORE_SUCCESS + 4)]
        await pipe.emit(head + readings(100))
        for _ in range(4):
            # the first attempt explores from the head, and gives up; the next one from the other end
            with contextlib.suppress(PermanentError):
                await pipe.send_once()
            if not pipe.spool.depth():
                break
        assert pipe.spool.depth() == 0
        assert len(odoo.stored) == 100 and pipe.spool.dead_letters() == len(head)
        pipe.close()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- the transport
@pytest.fixture
def xmlrpc_odoo():
    """A real XML-RPC server speaking as Odoo would: login ok, then faults chosen by the test."""

    class AnyPath(xmlrpc.server.SimpleXMLRPCRequestHandler):
        rpc_paths = ()  # /xmlrpc/2/common and /xmlrpc/2/object alike

    server = xmlrpc.server.SimpleXMLRPCServer(
        ("127.0.0.1", 0), requestHandler=AnyPath, logRequests=False, allow_none=True
    )
    answers: list = []

    def authenticate(db, login, key, context):
        return 7

    def execute_kw(db, uid, key, model, method, args, kwargs=None):
        answer = answers.pop(0)
        if isinstance(answer, xmlrpc.client.Fault):
            raise answer
        return answer

    server.register_function(authenticate)
    server.register_function(execute_kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address
    yield f"http://{host}:{port}", answers
    server.shutdown()
    server.server_close()


def test_faults_are_sorted_access_busy_and_batch(xmlrpc_odoo):
    url, answers = xmlrpc_odoo
    odoo = XmlRpcOdoo(url, "db", "bridge", "k")
    cases = [
        (xmlrpc.client.Fault(4, "You are not allowed to create 'Sensor Reading' (mro.sensor.reading) records."),
         PermanentError),
        (xmlrpc.client.Fault(3, "Access Denied"), PermanentError),
        (xmlrpc.client.Fault(1, "Traceback ...\npsycopg2.errors.SerializationFailure: could not serialize"),
         TransientError),
        (xmlrpc.client.Fault(1, "Traceback ...\npsycopg2.errors.NumericValueOutOfRange: value out of range"),
         BatchError),
        (xmlrpc.client.Fault(2, "ingest() takes at most 100000 readings per call, got more; split the batch."),
         BatchError),
    ]  # fmt: skip
    for fault, kind in cases:
        answers.append(fault)
        with pytest.raises(kind) as info:
            asyncio.run(odoo.ingest([["A-1", 1.0, 1.0]]))
        assert type(info.value) is kind, (fault.faultString, type(info.value))
    odoo.close()


def test_the_transport_never_sends_a_body_over_the_limit(xmlrpc_odoo):
    url, answers = xmlrpc_odoo
    odoo = XmlRpcOdoo(url, "db", "bridge", "k", max_request_bytes=20_000)
    answers.append({"accepted": 1, "duplicates": 0, "rejected": []})
    assert asyncio.run(odoo.ingest([["A-1", 1.0, 1.0]]))["accepted"] == 1
    with pytest.raises(BatchError, match="more than the 20000 Odoo takes"):
        asyncio.run(odoo.ingest([["A-1", float(i), 1.0] for i in range(1000)]))
    assert answers == []  # the large call never reached the server
    odoo.close()
