"""Where a sensor's last value stands against its limits: the one rule, for Python and for SQL.

The sensor form computes it in Python; ingest keeps it in step in SQL, for thousands of sensors per call. Both
come from :data:`LIMITS`, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The limits in the order they are checked (column of mro_sensor, state): the first one the value reaches
#: names the state. A limit of 0 is "not set".
LIMITS = (("alarm_limit", "alarm"), ("warning_limit", "warning"))


def limit_state(value: float | None, limits: Mapping[str, float]) -> str:
    """'none' without a reading, else the first limit of :data:`LIMITS` that ``value`` reaches, else 'normal'."""
    if value is None:
        return "none"
    for column, state in LIMITS:
        limit = limits.get(column) or 0.0
        if limit and value >= limit:
            return state
    return "normal"


def limit_state_sql(sensor: str, value: str) -> str:
    """The same rule as a SQL ``CASE`` over the limit columns of the table aliased ``sensor`` and the value
    expression ``value`` (never NULL: a row with a reading). Both arguments are the caller's identifiers,
    never user input."""
    if not (sensor.isidentifier() and value.replace(".", "_").isidentifier()):
        raise ValueError(f"not an identifier: {sensor!r}, {value!r}")
    whens = " ".join(
        f"WHEN {sensor}.{column} <> 0 AND {value} >= {sensor}.{column} THEN '{state}'" for column, state in LIMITS
    )
    return f"CASE {whens} ELSE 'normal' END"
