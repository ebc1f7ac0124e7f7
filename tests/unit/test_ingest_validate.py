"""Pure tests of the ingest validation (no Odoo, no database)."""

import math
from datetime import datetime, timedelta, timezone

import pytest
from ingestion import FUTURE_TOLERANCE_S, MIN_EPOCH_S, parse_timestamp, validate_batch

NOW = 1_790_000_000.0  # 2026-09-21T...Z


@pytest.mark.parametrize(
    ("ts", "expected_us"),
    [
        (0, 0),
        (1.5, 1_500_000),
        (1_700_000_000.123456, 1_700_000_000_123_456),
        ("1970-01-01T00:00:01Z", 1_000_000),
        ("1970-01-01T01:00:01+01:00", 1_000_000),
        # 2024-03-01T04:59:59.999999Z = 1709251200 (2024-03-01Z) + 17999 s, plus the microseconds
        ("2024-02-29T23:59:59.999999-05:00", 1_709_269_199_999_999),
        (datetime(2024, 1, 1), 1_704_067_200_000_000),  # naive datetime (XML-RPC dateTime) is UTC
        (datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 1_704_067_200_000_000),
    ],
)
def test_parse_timestamp(ts, expected_us):
    assert parse_timestamp(ts) == expected_us


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("2024-01-01T00:00:00", "no UTC offset"),
        ("not a date", "not ISO 8601"),
        ("", "not ISO 8601"),
        (math.nan, "not a finite number"),
        (True, "not bool"),
        (None, "not NoneType"),
        ([2024], "not list"),
    ],
)
def test_parse_timestamp_rejects(ts, reason):
    with pytest.raises(ValueError, match=reason):
        parse_timestamp(ts)


def test_validate_keeps_order_and_splits_good_from_bad():
    sensors = {"A": 1, "B": 2, "OLD": "sensor 'OLD' is archived"}
    batch = [
        ["A", NOW - 10, 1],
        ["B", NOW - 5, 2.5],
        ["OLD", NOW, 1.0],
        ["C", NOW, 1.0],
        ("A", NOW - 1, -0.0),  # tuples are fine too
        ["A", NOW + FUTURE_TOLERANCE_S + 1, 1.0],
        ["A", NOW + FUTURE_TOLERANCE_S - 1, 1.0],  # clock skew within tolerance
        ["A", MIN_EPOCH_S - 1, 1.0],
        ["A", NOW, 10**400],
    ]
    out = validate_batch(batch, sensors, NOW)
    assert out.sensor_ids == [1, 2, 1, 1]
    assert out.values == [1.0, 2.5, -0.0, 1.0]
    assert all(isinstance(v, float) for v in out.values)
    assert out.micros[0] == round((NOW - 10) * 1e6)
    assert [(r["index"], r["reason"]) for r in out.rejected] == [
        (2, "sensor 'OLD' is archived"),
        (3, "unknown sensor code 'C'"),
        (5, "timestamp is more than 5 minutes in the future"),
        (7, "timestamp is before 1990"),
        (8, "value is out of range"),
    ]


def test_retention_bound_has_its_own_reason():
    out = validate_batch([["A", NOW - 100, 1.0], ["A", NOW - 10, 1.0]], {"A": 1}, NOW, NOW - 50, "too old")
    assert out.sensor_ids == [1]
    assert out.rejected == [{"index": 0, "reason": "too old"}]


def test_empty_batch():
    out = validate_batch([], {}, NOW)
    assert (out.sensor_ids, out.rejected) == ([], [])
