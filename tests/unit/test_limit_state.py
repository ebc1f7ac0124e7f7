"""The limit-state rule: Python (the sensor form) and SQL (ingest) give the same answer, from one source."""

import itertools

import psycopg2
import pytest
from mro_ingestion import limit_state, limit_state_sql

LIMITS = [0.0, 2.8, 7.1]
VALUES = [-1.0, 0.0, 2.79, 2.8, 5.0, 7.1, 9.0]


def test_no_reading_is_none_and_unset_limits_are_ignored():
    assert limit_state(None, {"alarm_limit": 7.1, "warning_limit": 2.8}) == "none"
    assert limit_state(100.0, {"alarm_limit": 0.0, "warning_limit": 0.0}) == "normal"
    assert limit_state(7.1, {"alarm_limit": 7.1, "warning_limit": 2.8}) == "alarm"
    assert limit_state(3.0, {"alarm_limit": 7.1, "warning_limit": 2.8}) == "warning"
    # An alarm limit below the warning limit still wins: the alarm is checked first.
    assert limit_state(3.0, {"alarm_limit": 2.0, "warning_limit": 2.8}) == "alarm"


def test_sql_and_python_agree_on_every_combination():
    try:
        conn = psycopg2.connect(dbname="postgres", host="127.0.0.1")
    except psycopg2.OperationalError as exc:  # pragma: no cover - make test starts PostgreSQL
        pytest.fail(f"PostgreSQL is needed: {exc}")
    rows = list(itertools.product(VALUES, LIMITS, LIMITS))
    with conn, conn.cursor() as cr:
        cr.execute(
            f"SELECT {limit_state_sql('s', 's.v')} FROM (VALUES %s) AS s(v, warning_limit, alarm_limit)"
            % ", ".join(cr.mogrify("(%s::float8, %s::float8, %s::float8)", row).decode() for row in rows)
        )
        in_sql = [state for (state,) in cr.fetchall()]
    conn.close()
    in_python = [limit_state(v, {"warning_limit": w, "alarm_limit": a}) for v, w, a in rows]
    assert in_sql == in_python


def test_the_sql_takes_identifiers_only():
    with pytest.raises(ValueError):
        limit_state_sql("s; DROP TABLE x", "h.last_value")
