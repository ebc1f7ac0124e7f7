"""Validate a batch of ``[sensor_code, timestamp, value]`` items, one by one.

Nothing here touches a database: the caller resolves sensor codes (and their physical ranges)
beforehand and passes the result in. Bad items are collected with their index and a reason;
good items come out as three parallel lists ready for one set-based insert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

#: 1990-01-01T00:00:00Z: anything older is a clock or decoding fault, not a reading.
MIN_EPOCH_S = 631152000
#: How far in the future (seconds, against the server clock) a source timestamp may be.
FUTURE_TOLERANCE_S = 300
#: Largest magnitude any reading may have, whatever its sensor and unit. Beyond it a value is a decoding
#: fault, not a measurement, and a few of them would overflow the float8 sums of the hourly aggregates
#: (1.6e308 twice in one sensor-hour failed the whole ingest call).
MAX_ABS_VALUE = 1e15

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
    #: Items repeating an earlier item of the batch (same sensor, time and value): stored once.
    duplicates: int = 0


def parse_timestamp(ts) -> int:
    """Return microseconds since the Unix epoch (UTC) for ``ts``, or raise ``ValueError(reason)``.

    Accepts epoch seconds (int or float), ISO 8601 text and ``datetime`` objects. One rule for every
    form, the bridge's too: a time without offset is UTC (``2024-03-01T10:00:00`` is 10:00 UTC, as XML-RPC's
    naive dateTime and Odoo's stored datetimes are); with an offset (``Z``, ``+02:00``) it is converted.
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
            moment = moment.replace(tzinfo=timezone.utc)  # no offset: UTC (see the docstring)
        return (moment - _EPOCH) // _ONE_MICRO
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return (ts - _EPOCH) // _ONE_MICRO
    raise ValueError(f"timestamp must be ISO 8601 text or epoch seconds, not {type(ts).__name__}")


def physical_range(physical_min: float, physical_max: float) -> tuple[float | None, float | None]:
    """A sensor's ``(lowest, highest)`` acceptable value from its physical_min/physical_max fields
    (``None``: no bound). As everywhere in the suite: a maximum of 0 means no upper bound, and the
    minimum counts once either field is set (both 0: no range at all)."""
    low = physical_min if (physical_min or physical_max) else None
    return low, physical_max or None


def check_value(value: float, bounds: tuple[float | None, float | None] = (None, None)) -> str | None:
    """Why the finite ``value`` cannot be a reading of a sensor whose range is ``bounds``, or ``None``."""
    if abs(value) > MAX_ABS_VALUE:
        return f"value {value:.10g} is beyond ±{MAX_ABS_VALUE:g}, the largest magnitude ingest takes"
    low, high = bounds
    if low is not None and value < low:
        return f"value {value:.10g} is below the sensor's physical minimum {low:g}"
    if high is not None and value > high:
        return f"value {value:.10g} is above the sensor's physical maximum {high:g}"
    return None


def validate_batch(
    readings,
    sensors: Mapping[str, int | str],
    now_s: float,
    oldest_s: float = MIN_EPOCH_S,
    oldest_reason: str = "timestamp is before 1990",
    ranges: Mapping[int, tuple[float | None, float | None]] | None = None,
) -> ValidatedBatch:
    """Split ``readings`` into accepted items and rejections.

    ``sensors`` maps a sensor code to its id, or to the reason it may not be written to;
    codes absent from it are unknown. ``now_s`` is the server clock (epoch seconds, UTC);
    timestamps before ``oldest_s`` are rejected with ``oldest_reason``. ``ranges`` maps a
    sensor id to its ``(lowest, highest)`` physical value (see :func:`physical_range`);
    every value is also held to ``MAX_ABS_VALUE``.

    Two items of the batch for the same sensor and microsecond (timestamps are stored to the
    microsecond) are one reading when their values are equal, counted in ``duplicates``;
    with different values the later item is rejected, never one kept at random.
    """
    out = ValidatedBatch()
    reject = out.rejected.append
    add_id, add_ts, add_value = out.sensor_ids.append, out.micros.append, out.values.append
    newest_us = round((now_s + FUTURE_TOLERANCE_S) * 1_000_000)
    oldest_us = round(max(oldest_s, MIN_EPOCH_S) * 1_000_000)
    ranges = ranges or {}
    no_range = (None, None)
    # Per sensor, the inclusive bounds a value must be within: one chained comparison per item; check_value()
    # says why only for the rare value outside them.
    sane = (-MAX_ABS_VALUE, MAX_ABS_VALUE)
    limits = _value_limits(ranges)
    # (microseconds << 32 | sensor id) -> index of the first item there. Plain ints, not (sensor, time) tuples:
    # a tuple per reading made the garbage collector walk the freshly decoded batch again and again.
    seen: dict[int, int] = {}
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
        low, high = limits.get(sensor, sane)
        if not low <= value <= high:
            reject({"index": index, "reason": check_value(value, ranges.get(sensor, no_range))})
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
        key = micros << 32 | sensor  # ids are int4, and micros positive from 1990 on: one int per pair
        first = seen.get(key)
        if first is not None:
            _code, first_ts, first_value = readings[first]
            if float(first_value) == value:
                out.duplicates += 1
            elif first_ts == ts:
                reject({"index": index, "reason": f"item {first} has the same sensor and time with another value"})
            else:
                reject(
                    {
                        "index": index,
                        "reason": f"timestamp falls on the same microsecond as item {first}'s (readings are "
                        "stored to the microsecond), with another value",
                    }
                )
            continue
        seen[key] = index
        add_id(sensor)
        add_ts(micros)
        add_value(value)
    return out


def _value_limits(ranges: Mapping[int, tuple[float | None, float | None]]) -> dict[int, tuple[float, float]]:
    """Per sensor id, the inclusive bounds of a value: its physical range within ±MAX_ABS_VALUE."""
    return {
        sensor: (-MAX_ABS_VALUE if low is None else max(low, -MAX_ABS_VALUE),
                 MAX_ABS_VALUE if high is None else min(high, MAX_ABS_VALUE))
        for sensor, (low, high) in ranges.items()
    }  # fmt: skip


def validate_clean_columns(
    codes: Sequence[str],
    index: Sequence[int],
    times: Sequence[float],
    values: Sequence[float],
    sensors: Mapping[str, int | str],
    now_s: float,
    oldest_s: float = MIN_EPOCH_S,
    ranges: Mapping[int, tuple[float | None, float | None]] | None = None,
) -> ValidatedBatch | None:
    """What :func:`validate_batch` returns for the readings ``(codes[index[i]], times[i], values[i])`` when it
    accepts every one of them (the usual batch of a bridge), or ``None`` when it would not: a code unknown or
    refused, a value or time it rejects, or two readings of one sensor in the same microsecond. A column at a
    time, with no work per reading in Python but for the keys of the duplicate check; the caller validates a
    batch it returns ``None`` for item by item, which gives the reasons."""
    ids = [sensors.get(code) for code in codes]
    used = {ids[i] for i in set(index)}  # a code no reading uses is no matter
    if any(type(sensor) is not int for sensor in used):
        return None
    sensor_ids = list(map(ids.__getitem__, index))
    if not (all(map(math.isfinite, values)) and all(map(math.isfinite, times))):
        return None
    if not values:
        return ValidatedBatch()
    if not -MAX_ABS_VALUE <= min(values) <= max(values) <= MAX_ABS_VALUE:
        return None
    ranges = ranges or {}
    limits = _value_limits(
        {sensor: ranges[sensor] for sensor in used if ranges.get(sensor, (None, None)) != (None, None)}
    )
    if limits:
        sane = (-MAX_ABS_VALUE, MAX_ABS_VALUE)
        for sensor, value in zip(sensor_ids, values, strict=True):
            low, high = limits.get(sensor, sane)
            if not low <= value <= high:
                return None
    if max(times) > now_s + FUTURE_TOLERANCE_S + 1:  # before multiplying: far beyond, a time overflows
        return None
    micros = [round(ts * 1_000_000) for ts in times]
    newest_us = round((now_s + FUTURE_TOLERANCE_S) * 1_000_000)
    oldest_us = round(max(oldest_s, MIN_EPOCH_S) * 1_000_000)
    if max(micros) > newest_us or min(micros) < oldest_us:
        return None
    if len({us << 32 | sensor for us, sensor in zip(micros, sensor_ids, strict=True)}) != len(micros):
        return None
    return ValidatedBatch(sensor_ids, micros, list(map(float, values)))
