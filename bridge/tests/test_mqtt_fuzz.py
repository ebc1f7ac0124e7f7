"""Whatever arrives on a topic, the MQTT source survives it: every message gives readings or dead letters,
and every message is acknowledged.

A property-based test over payloads (deep nesting, integers of thousands of digits, 1e400, bytes that are no
text, JSON of every shape) runs the source's real loop, with paho's client replaced by a stand-in that
feeds the messages and records the acknowledgements (the broker-backed versions are in test_mqtt.py)."""

from __future__ import annotations

import asyncio
import json

import paho.mqtt.client as paho
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mro_bridge.sources import mqtt

TAGS = [
    {"code": "WHOLE", "topic": "fuzz/whole"},
    {"code": "V", "topic": "fuzz/doc", "value_path": "v", "timestamp_path": "ts"},
    {"code": "DEEP", "topic": "fuzz/doc", "value_path": "a.0.b"},
    {"code": "ANY", "topic": "fuzz/+", "value_path": "v"},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["v", "ts", "a", "b", "0"]), inner),
    max_leaves=12,
)
numbers = st.one_of(
    st.sampled_from(["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-0", "1E+308", "2e308"]),
    st.integers(min_value=300, max_value=6000).map(lambda n: "9" * n),  # past 4,300 digits Python refuses
    st.integers(min_value=310, max_value=4000).map(lambda n: f"1{'0' * n}"),  # an int too large for a float
    st.floats().map(repr),
)
nested = st.tuples(st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", '{"a":'])).map(
    lambda t: (t[1] * t[0] + "1" + ("]" if t[1] == "[" else "}") * t[0]).encode()
)
payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.tuples(numbers, numbers).map(lambda t: f'{{"v": {t[0]}, "ts": {t[1]}, "a": [{{"b": {t[0]}}}]}}'.encode()),
    numbers.map(str.encode),
    nested,
    st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


class FakeClient:
    """What run() needs of paho's client: ack()."""

    def __init__(self):
        self.acked: list[int] = []

    def ack(self, mid, qos):
        self.acked.append(mid)


def message(mid: int, topic: str, payload: bytes) -> paho.MQTTMessage:
    msg = paho.MQTTMessage(mid=mid, topic=topic.encode())
    msg.payload = payload
    msg.qos = 1
    return msg


async def run_source(messages: list[paho.MQTTMessage]):
    src = mqtt.from_dict({"host": "fuzz", "tags": [dict(t) for t in TAGS]}, "mqtt[0]")
    client = FakeClient()
    readings, dead = [], []

    async def fake_open(queue, persistent=True):
        for msg in messages:
            queue.put_nowait((msg, 1_700_000_000.0))
        return client

    async def fake_close(_client):
        pass

    async def dead_letter(key, ts, raw, reason):
        dead.append((key, raw, reason))

    async def emit(batch):
        readings.extend(batch)

    src._open, src._close, src.dead_letter = fake_open, fake_close, dead_letter
    task = asyncio.create_task(src.run(emit))
    for _ in range(400):
        if len(client.acked) == len(messages) or task.done():
            break
        await asyncio.sleep(0.005)
    assert not task.done(), f"the source stopped: {task.exception()!r}"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return client, readings, dead


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["fuzz/whole", "fuzz/doc", "fuzz/x"]), payloads), min_size=1, max_size=6))
def test_any_payload_is_read_or_dead_lettered_and_always_acknowledged(items):
    messages = [message(i + 1, topic, payload) for i, (topic, payload) in enumerate(items)]
    messages.append(message(len(items) + 1, "fuzz/whole", b"42.5"))  # a good one after them all
    client, readings, dead = asyncio.run(run_source(messages))
    assert client.acked == [m.mid for m in messages]  # every one, in order
    assert readings[-1].code == "WHOLE" and readings[-1].value == 42.5
    for reading in readings:
        assert isinstance(reading.value, float) and reading.value == reading.value  # finite floats only
    for _key, raw, reason in dead:
        assert reason and len(reason) <= 400 and len(raw) <= mqtt.RAW_LIMIT


def test_the_named_poison_payloads():
    """The issue's three: deep nesting (RecursionError), a 5,000-digit integer (ValueError), 1e400 and a
    400-digit integer (OverflowError), as the whole payload, as the value and as the timestamp."""
    poison = {
        "deep": b"[" * 30_000 + b"]" * 30_000,  # within max_payload (64 KiB)
        "digits": b"7" * 5000,
        "digits in a value": b'{"v": ' + b"7" * 5000 + b"}",
        "1e400": b"1e400",
        "1e400 in a value": b'{"v": 1e400, "ts": 1700000000}',
        "big int value": b'{"v": 1' + b"0" * 400 + b"}",
        "big int timestamp": b'{"v": 1, "ts": 1' + b"0" * 400 + b"}",
        "1e400 timestamp": b'{"v": 1, "ts": 1e400}',
        "deep value": b'{"v": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    }
    messages = [message(i + 1, "fuzz/whole" if i == 0 else "fuzz/doc", p) for i, p in enumerate(poison.values())]
    client, readings, dead = asyncio.run(run_source(messages))
    assert client.acked == [m.mid for m in messages]
    reasons = [reason for _key, _raw, reason in dead]
    assert any("nested too deep" in r for r in reasons)
    assert any("digits" in r for r in reasons)
    assert any("not a finite number" in r for r in reasons)
    assert any("too large for a float" in r for r in reasons)
    assert not [r for r in readings if r.code == "V"]  # no poison became a reading of V
