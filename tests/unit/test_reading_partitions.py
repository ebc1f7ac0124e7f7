"""Pure tests of the readings' monthly partitions (names, bounds, months to create and drop)."""

from datetime import date, datetime

from mro_ingestion.partitions import (
    MONTHS_AHEAD,
    add_months,
    expired_months,
    month_start,
    months_to_create,
    partition_month,
    partition_name,
)


def test_month_arithmetic_crosses_years():
    assert month_start(datetime(2026, 12, 31, 23, 59)) == date(2026, 12, 1)
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 3, 1), -14) == date(2025, 1, 1)


def test_names_round_trip():
    assert partition_name("mro_sensor_reading", date(2026, 7, 1)) == "mro_sensor_reading_p202607"
    assert partition_month("mro_sensor_reading", "mro_sensor_reading_p202607") == date(2026, 7, 1)
    assert partition_month("mro_sensor_reading", "mro_sensor_reading_default") is None
    assert partition_month("mro_sensor_reading", "mro_sensor_reading_p202613") is None
    assert partition_month("mro_sensor_reading", "mro_sensor_reading_hourly_p202607") is None


def test_current_month_and_the_months_ahead():
    months = months_to_create(datetime(2026, 11, 30, 23))
    assert months == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert len(months) == MONTHS_AHEAD + 1


def test_only_months_wholly_before_the_cutoff_expire():
    months = [date(2026, 9, 1), date(2026, 11, 1), date(2026, 10, 1), date(2026, 12, 1)]
    assert expired_months(months, datetime(2026, 11, 2)) == [date(2026, 9, 1), date(2026, 10, 1)]
    # The cutoff at the very start of a month: the month before is wholly older.
    assert expired_months(months, datetime(2026, 11, 1)) == [date(2026, 9, 1), date(2026, 10, 1)]
    assert expired_months(months, datetime(2026, 10, 31, 23, 59)) == [date(2026, 9, 1)]
