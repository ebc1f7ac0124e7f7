"""Validate a batch of ``[sensor_code, timestamp, value]`` items, one by one.

Nothing here touches a database: the caller resolves sensor codes beforehand and passes
the result in. Bad items are collected with their index and a reason; good items come
out as three parallel lists ready for one set-based insert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

#: 1990-01-01T00:00:00Z: anything older is a clock or decoding fault, not a reading.
MIN_EPOCH_S = 631152000
#: How far in the future (seconds, against the server clock) a source timestamp may be.
FUTURE_TOLERANCE_S = 300

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MICRO = timedelta(microseconds=1)
_NUMBER = (int, float)


@dataclass
class ValidatedBatch:
    """Accepted items as parallel lists (sensor id, UTC microseconds, value) plus rejections."""

    sensor_ids: list[int] = field(default_factory=list)
    micros: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def parse_timestamp(ts) -> int:
    """Return microseconds since the Unix epoch (UTC) for ``ts``, or raise ``ValueError(reason)``.

    Accepts epoch seconds (int or float), ISO 8601 text with a UTC offset (``Z`` included),
    and ``datetime`` objects (naive ones are taken as UTC, as XML-RPC sends them).
    """
    if type(ts) in _NUMBER:
        if not math.isfinite(ts):
            raise ValueError("timestamp is not a finite number")
        return round(ts * 1_000_000)
    if isinstance(ts, str):
        text = ts.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp {ts!r} is not ISO 8601") from None
        if moment.tzinfo is None:
            raise ValueError(f"timestamp {ts!r} has no UTC offset")
        return (moment - _EPOCH) // _ONE_MICRO
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return (ts - _EPOCH) // _ONE_MICRO
    raise ValueError(f"timestamp must be ISO 8601 text or epoch seconds, not {type(ts).__name__}")


def validate_batch(
    readings,
    sensors: Mapping[str, int | str],
    now_s: float,
    oldest_s: float = MIN_EPOCH_S,
    oldest_reason: str = "timestamp is before 1990",
) -> ValidatedBatch:
    """Split ``readings`` into accepted items and rejections.

    ``sensors`` maps a sensor code to its id, or to the reason it may not be written to;
    codes absent from it are unknown. ``now_s`` is the server clock (epoch seconds, UTC);
    timestamps before ``oldest_s`` are rejected with ``oldest_reason``.
    """
    out = ValidatedBatch()
    reject = out.rejected.append
    add_id, add_ts, add_value = out.sensor_ids.append, out.micros.append, out.values.append
    newest_us = round((now_s + FUTURE_TOLERANCE_S) * 1_000_000)
    oldest_us = round(max(oldest_s, MIN_EPOCH_S) * 1_000_000)
    for index, item in enumerate(readings):
        if type(item) not in (list, tuple) or len(item) != 3:
            reject({"index": index, "reason": "item is not a [sensor_code, timestamp, value] list"})
            continue
        code, ts, value = item
        sensor = sensors.get(code) if isinstance(code, str) else "sensor code must be text"
        if sensor is None:
            reject({"index": index, "reason": f"unknown sensor code {code!r}"})
            continue
        if type(sensor) is str:
            reject({"index": index, "reason": sensor})
            continue
        if type(value) not in _NUMBER:
            kind = "empty" if value is None else type(value).__name__
            reject({"index": index, "reason": f"value must be a number, got {kind}"})
            continue
        try:
            value = float(value)
        except OverflowError:
            reject({"index": index, "reason": "value is out of range"})
            continue
        if not math.isfinite(value):
            reject({"index": index, "reason": f"value is not finite ({value})"})
            continue
        try:
            micros = parse_timestamp(ts)
        except (ValueError, OverflowError) as exc:
            reject({"index": index, "reason": str(exc) if isinstance(exc, ValueError) else "bad timestamp"})
            continue
        if micros > newest_us:
            reject({"index": index, "reason": "timestamp is more than 5 minutes in the future"})
            continue
        if micros < oldest_us:
            reason = "timestamp is before 1990" if micros < MIN_EPOCH_S * 1_000_000 else oldest_reason
            reject({"index": index, "reason": reason})
            continue
        add_id(sensor)
        add_ts(micros)
        add_value(value)
    return out
