"""Pure ingest logic (no Odoo import): validation of reading batches, the limit-state rule."""

from .limits import LIMITS, limit_state, limit_state_sql
from .packed import PackedError, unpack_columns
from .validate import (
    FUTURE_TOLERANCE_S,
    MAX_ABS_VALUE,
    MIN_EPOCH_S,
    ValidatedBatch,
    check_value,
    parse_timestamp,
    physical_range,
    validate_batch,
    validate_clean_columns,
)

__all__ = [
    "FUTURE_TOLERANCE_S",
    "LIMITS",
    "MAX_ABS_VALUE",
    "MIN_EPOCH_S",
    "PackedError",
    "ValidatedBatch",
    "check_value",
    "limit_state",
    "limit_state_sql",
    "parse_timestamp",
    "physical_range",
    "unpack_columns",
    "validate_batch",
    "validate_clean_columns",
]
