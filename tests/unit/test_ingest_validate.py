"""Pure tests of the ingest validation (no Odoo, no database)."""

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mro_ingestion import (
    FUTURE_TOLERANCE_S,
    MAX_ABS_VALUE,
    MIN_EPOCH_S,
    check_value,
    parse_timestamp,
    physical_range,
    validate_batch,
    validate_clean_columns,
)

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
        # ISO text without offset is UTC too: one rule, the bridge's (test_mqtt.py checks the same cases)
        ("2024-01-01T00:00:00", 1_704_067_200_000_000),
        ("2024-01-01 01:00:00.5", 1_704_070_800_500_000),
        (datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 1_704_067_200_000_000),
    ],
)
def test_parse_timestamp(ts, expected_us):
    assert parse_timestamp(ts) == expected_us


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
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


def test_physical_range_follows_the_suites_convention():
    assert physical_range(0.0, 0.0) == (None, None)  # nothing set: no range
    assert physical_range(0.0, 50.0) == (0.0, 50.0)  # a maximum: the minimum 0 counts
    assert physical_range(-40.0, 0.0) == (-40.0, None)  # a maximum of 0: no upper bound
    assert physical_range(-40.0, 150.0) == (-40.0, 150.0)


@pytest.mark.parametrize(
    ("value", "bounds", "reason"),
    [
        (1.6e308, (None, None), "value 1.6e+308 is beyond ±1e+15"),
        (-MAX_ABS_VALUE * 1.0000001, (None, None), "beyond ±1e+15"),
        (50.01, (0.0, 50.0), "value 50.01 is above the sensor's physical maximum 50"),
        (-0.5, (0.0, 50.0), "value -0.5 is below the sensor's physical minimum 0"),
        (MAX_ABS_VALUE, (None, None), None),
        (50.0, (0.0, 50.0), None),
        (-1e9, (None, 10.0), None),
    ],
)
def test_check_value(value, bounds, reason):
    problem = check_value(value, bounds)
    if reason is None:
        assert problem is None
    else:
        assert reason in problem


def test_values_are_held_to_their_sensors_range():
    out = validate_batch(
        [["A", NOW, 51.0], ["B", NOW, 51.0], ["A", NOW - 1, 1.6e308], ["B", NOW - 1, -1e16]],
        {"A": 1, "B": 2},
        NOW,
        ranges={1: (0.0, 50.0)},
    )
    assert out.sensor_ids == [2]
    assert [r["index"] for r in out.rejected] == [0, 2, 3]


def test_one_sensor_and_time_twice_is_a_duplicate_or_a_conflict():
    batch = [
        ["A", NOW - 10, 1.0],  # 0
        ["A", NOW - 10, 1.0],  # 1 the same: one reading, a duplicate
        ["A", NOW - 10, 2.0],  # 2 same time, another value: refused
        ["A", NOW - 9 + 1e-7, 3.0],  # 3
        ["A", NOW - 9 + 4e-7, 4.0],  # 4 the same microsecond as 3 once rounded: refused
        ["B", NOW - 10, 5.0],  # 5 another sensor: fine
    ]
    out = validate_batch(batch, {"A": 1, "B": 2}, NOW)
    assert out.values == [1.0, 3.0, 5.0]
    assert out.duplicates == 1
    assert [(r["index"], r["reason"]) for r in out.rejected] == [
        (2, "item 0 has the same sensor and time with another value"),
        (4, "timestamp falls on the same microsecond as item 3's (readings are stored to the microsecond), "
            "with another value"),
    ]  # fmt: skip


#: The sensors of the column tests: two plain, one with a physical range, one archived, one unknown.
COLUMN_SENSORS = {"A": 1, "B": 2, "R": 3, "OLD": "sensor 'OLD' is archived"}
COLUMN_RANGES = {1: (None, None), 2: (None, None), 3: (0.0, 100.0)}
TIMES = st.one_of(
    st.floats(NOW - 3600, NOW + 3600),
    st.sampled_from([NOW, NOW + FUTURE_TOLERANCE_S, NOW + FUTURE_TOLERANCE_S + 1e-3, MIN_EPOCH_S - 1.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUES = st.one_of(
    st.floats(-200.0, 200.0),
    st.sampled_from([0.0, 100.0, MAX_ABS_VALUE, -MAX_ABS_VALUE, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=300, deadline=None)
@given(
    codes=st.lists(st.sampled_from(["A", "B", "R", "OLD", "NOPE"]), min_size=1, max_size=4, unique=True),
    rows=st.lists(st.tuples(st.integers(0, 3), TIMES, VALUES), max_size=30),
    clean=st.booleans(),
)
def test_clean_columns_give_what_the_item_loop_gives_or_step_aside(codes, rows, clean):
    if clean:  # most batches are clean: known codes, sane values, distinct times
        codes = [c for c in codes if c in ("A", "B", "R")] or ["A"]
        rows = [(i % len(codes), NOW - 1000 + k, abs(v) % 100 if math.isfinite(v) else 1.0)
                for k, (i, _t, v) in enumerate(rows)]  # fmt: skip
    rows = [(i % len(codes), t, v) for i, t, v in rows]
    index, times, values = ([r[k] for r in rows] for k in range(3))
    items = [(codes[i], t, v) for i, t, v in rows]
    expected = validate_batch(items, COLUMN_SENSORS, NOW, ranges=COLUMN_RANGES)
    got = validate_clean_columns(codes, index, times, values, COLUMN_SENSORS, NOW, ranges=COLUMN_RANGES)
    every_one_kept = not expected.rejected and not expected.duplicates
    if got is None:
        assert not every_one_kept, "a clean batch must take the column path"
    else:
        assert every_one_kept
        assert (got.sensor_ids, got.micros, got.values, got.rejected, got.duplicates) == (
            expected.sensor_ids, expected.micros, expected.values, [], 0)  # fmt: skip
    if clean:
        assert got is not None


def test_clean_columns_step_aside_for_a_repeated_reading_and_a_value_out_of_range():
    codes, t = ["A", "R"], NOW - 10
    assert validate_clean_columns(codes, [0, 0], [t, t], [1.0, 1.0], COLUMN_SENSORS, NOW) is None
    assert validate_clean_columns(codes, [1], [t], [101.0], COLUMN_SENSORS, NOW, ranges=COLUMN_RANGES) is None
    kept = validate_clean_columns(codes, [0, 1], [t, t], [1.0, 99.5], COLUMN_SENSORS, NOW, ranges=COLUMN_RANGES)
    assert (kept.sensor_ids, kept.micros, kept.values) == ([1, 3], [round(t * 1e6)] * 2, [1.0, 99.5])
